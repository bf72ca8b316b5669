"""A DQDL checker: a standard-library port of AWS's published DQDL grammar and its ruleset validation.

Why a port: Glue Data Quality parses ``AWS::Glue::DataQualityRuleset.Ruleset`` with the ANTLR grammar
AWS publishes in awslabs/dqdl; a ruleset it rejects fails the deploy. The project has the ANTLR Python
runtime but no generated parser, so this module re-implements the grammar's productions and the checks
AWS's own parser listener adds on top of the grammar. Nothing here is our guess of DQDL: every
production, token and message comes from the files below (read at the commit named).

Sources (repository awslabs/dqdl, commit 43b91abb4ccd4935b8301c6e777df79a23419fc3 unless noted):
  G  configuration/dqdl/DataQualityDefinitionLanguage.g4   parser grammar
  L  configuration/dqdl/CommonLexerRules.g4                lexer rules (imported by G)
  P  src/com/amazonaws/glue/ml/dataquality/dqdl/parser/DQDLParserListener.java   post-parse checks
  D  src/.../dqdl/parser/DQDLParser.java (commit 0780f2f34b42cf90485d670ce11bc56b28f89eb2): the parser is
     started at rule ``document`` WITHOUT EOF, so tokens after a complete document are ignored by AWS.
  C  configuration/rules/rules-config.json (commit 01c67b4ef61b19d4da5eae0622deea396707e37d; the only stored
     version of the rule-type table): rule types, parameter counts, return types, threshold support.
  T  tst/com/amazonaws/glue/ml/dataquality/dqdl/model/DQRuleTest.java: the example rules that AWS's
     parser must accept (copied with their source into fixtures/dqdl_examples.json).
  Rule-type reference pages: https://docs.aws.amazon.com/glue/latest/dg/dqdl.html and its per-type pages.

Which grammar rules (by .g4 name) each function implements:
  tokenize                L: every lexer rule, plus G's implicit literal tokens ('Rules', 'days', 'with', ...)
                          with ANTLR's precedence (longest match, then the rule defined first).
  _Parser.document        G: document, metadata, dataSources, dictionary, pair, pairValue, array,
                          variableDeclarations, variableDeclaration, expression, rulesOrAnalyzers,
                          metadataSectionStart, dataSourcesSectionStart, rulesSectionStart, analyzersSectionStart
  _Parser.rules_section   G: rules, dqRules;  _Parser.analyzers_section  G: analyzers, dqAnalyzers, dqAnalyzer
  _Parser.top_level_rule  G: topLevelRule (left recursion unrolled; AND binds tighter than OR, as the
                          alternative order of a left-recursive ANTLR rule makes it)
  _Parser.dq_rule         G: dqRule, ruleType, analyzerType, parameterWithConnectorWord, parameter,
                          connectorWord, whereClause, tagWithCondition, tagValues
  _Parser.condition       G: condition
  _Parser.comparison      G: numberBasedCondition, dateBasedCondition, durationBasedCondition,
                          sizeBasedCondition, numberArray, dateExpressionArray, durationExpressionArray,
                          sizeExpressionArray
  _Parser.string_condition  G: stringBasedCondition, stringValuesArray, stringValues,
                          variableDereference, matchesRegexCondition, quotedString
  _Parser.number          G: number, numberOp, atomicNumber, functionCall, functionParameters
  _Parser.date_expr       G: dateExpression, dateNow, dateExpressionOp, timeExpression
  _Parser.duration_expr   G: durationExpression, durationUnit;  _Parser.size_expr  G: sizeExpression, sizeUnit
  validate                P: enterMetadata, enterDataSources, enterDqRules/parseTopLevelRule (nesting
                          depth), enterDqAnalyzers/getDQAnalyzer, enterVariableDeclaration, getDQRule,
                          parseCondition; C: DQRuleType.getRuleType (name + parameter count, var-args).

Ambiguity is resolved as ANTLR's adaptive prediction does for this grammar: the first alternative that
can complete the document wins, loops and optional parts are greedy. The parse is a depth-first search
over alternatives in grammar order. Cross-checked out of tree against the parser ANTLR 4.13.2 generates
from the two .g4 files (driven as D drives it): same accept/reject, and the same line:column for the
errors in fixtures/, on the 196 samples and on 84,000 token- and character-level mutations of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

GRAMMAR_COMMIT = "43b91abb4ccd4935b8301c6e777df79a23419fc3"
RULES_CONFIG_COMMIT = "01c67b4ef61b19d4da5eae0622deea396707e37d"


class DqdlError(ValueError):
    """A ruleset AWS's DQDL parser would reject; ``errors`` are ``line L:C message`` strings."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


# ---------------------------------------------------------------------------------------------------
# Lexer (L, plus G's implicit literals). Order = ANTLR's: implicit literals of G in order of first use,
# then L's rules in file order. Longest match wins; on equal length the earlier rule wins.
# ---------------------------------------------------------------------------------------------------

_IMPLICIT_LITERALS = (
    "Metadata", "DataSources", "Rules", "Analyzers", "now()", "days", "hours", "minutes",
    "B", "KB", "MB", "GB", "TB", "+", "/", "*", "matches", "$", "with", "where",
)  # fmt: skip
# '-' is not listed: ANTLR aliases the literal '-' of G to L's rule NEGATIVE: '-'.

_LEXER_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    *((lit, re.compile(re.escape(lit))) for lit in _IMPLICIT_LITERALS),
    ("COLON", re.compile(r":")),
    ("COMMA", re.compile(r",")),
    ("SINGLE_QUOTE", re.compile(r"'")),
    ("QUOTE", re.compile(r'"')),
    ("LCURL", re.compile(r"\{")),
    ("RCURL", re.compile(r"\}")),
    ("LBRAC", re.compile(r"\[")),
    ("RBRAC", re.compile(r"\]")),
    ("LPAREN", re.compile(r"\(")),
    ("RPAREN", re.compile(r"\)")),
    ("AND", re.compile(r"and|AND")),
    ("OR", re.compile(r"or|OR")),
    ("OF", re.compile(r"of|OF")),
    ("NULL", re.compile(r"null|NULL")),
    ("EMPTY", re.compile(r"empty|EMPTY")),
    ("WHITESPACES_ONLY", re.compile(r"whitespaces_only|WHITESPACES_ONLY")),
    ("BETWEEN", re.compile(r"between")),
    ("EQUAL_TO", re.compile(r"=")),
    ("GREATER_THAN", re.compile(r">")),
    ("GREATER_THAN_EQUAL_TO", re.compile(r">=")),
    ("LESS_THAN", re.compile(r"<")),
    ("LESS_THAN_EQUAL_TO", re.compile(r"<=")),
    ("IN", re.compile(r"in")),
    ("NOT", re.compile(r"not")),
    ("NEGATION", re.compile(r"!")),
    ("DIGIT", re.compile(r"[0-9]")),
    ("DATE", re.compile(r'"[0-9]{4}-[0-9]{2}-[0-9]{2}"')),
    ("TIME", re.compile(r'"[0-9]{1,2}:[0-9]{2} (?:AM|PM)"')),
    ("MIL_TIME", re.compile(r'"[0-9]{2}:[0-9]{2}"')),
    ("INT", re.compile(r"[0-9]+")),
    ("DECIMAL", re.compile(r"[0-9]+\.[0-9]+")),
    # QUOTE (ESC | .)*? QUOTE with ESC: '\\"' | '\\\\' ; '.' includes newlines.
    ("QUOTED_STRING", re.compile(r'"(?:\\["\\]|.)*?"', re.DOTALL)),
    ("NEGATIVE", re.compile(r"-")),
    ("LINE_COMMENT", re.compile(r"#.*?\r?\n", re.DOTALL)),  # -> skip
    ("IDENTIFIER", re.compile(r"[a-zA-Z0-9_.]+")),
    ("WS", re.compile(r"[ \t\n]+")),  # -> skip ('\r' is NOT whitespace in this grammar)
)
_SKIPPED = frozenset({"LINE_COMMENT", "WS"})


@dataclass(frozen=True)
class Token:
    kind: str  # lexer rule name, or the literal itself for G's implicit tokens
    text: str
    line: int  # 1-based, as ANTLR reports it
    column: int  # 0-based character position in the line, as ANTLR reports it

    def describe(self) -> str:
        return "<EOF>" if self.kind == "EOF" else repr(self.text)


def _lex(text: str) -> tuple[list[Token], list[tuple[int, str]]]:
    """Tokens (skipped ones dropped, EOF appended) and token recognition errors as (index of the token
    they precede, message). ANTLR's recovery is kept: an unmatched character is reported and skipped;
    a '#' comment without a newline swallows the rest of the text."""
    tokens: list[Token] = []
    errors: list[tuple[int, str]] = []
    pos, line, col = 0, 1, 0
    while pos < len(text):
        best_kind, best_len = None, 0
        for kind, pattern in _LEXER_RULES:
            m = pattern.match(text, pos)
            if m and len(m.group()) > best_len:
                best_kind, best_len = kind, len(m.group())
        if best_kind is None:
            failed = text[pos:] if text[pos] == "#" else text[pos]
            errors.append((len(tokens), f"line {line}:{col} token recognition error at: {failed!r}"))
            best_len = len(failed)
        elif best_kind not in _SKIPPED:
            tokens.append(Token(best_kind, text[pos : pos + best_len], line, col))
        lexeme = text[pos : pos + best_len]
        newlines = lexeme.count("\n")
        line, col = (
            (line + newlines, len(lexeme) - lexeme.rfind("\n") - 1) if newlines else (line, col + best_len)
        )
        pos += best_len
    tokens.append(Token("EOF", "", line, col))
    return tokens, errors


def tokenize(text: str) -> list[Token]:
    """The token stream; raises ``DqdlError`` on a token recognition error anywhere in the text."""
    tokens, errors = _lex(text)
    if errors:
        raise DqdlError([message for _, message in errors])
    return tokens


# ---------------------------------------------------------------------------------------------------
# Parse tree (only what the validation of P needs).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    value: str  # quotes removed (P.parseParameter: removeQuotes only, escapes kept)
    quoted: bool
    connector: str  # '', 'of', 'and', ...


@dataclass(frozen=True)
class Condition:
    kind: str  # number | string | date | duration | size
    operator: str  # text of the operator tokens, e.g. '>=', 'not in', 'between'
    text: str  # the whole condition, tokens joined by spaces


@dataclass(frozen=True)
class Tag:
    key: str
    condition: Condition


@dataclass(frozen=True)
class DqRule:
    token: Token  # the ruleType token (for messages)
    rule_type: str
    params: tuple[Param, ...]
    condition: Condition | None = None
    where: str | None = None  # the quoted string, quotes included
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True)
class Composite:
    operator: str  # AND | OR
    left: Node
    right: Node


@dataclass(frozen=True)
class Paren:
    inner: Node


Node = DqRule | Composite | Paren


@dataclass
class Document:
    metadata: list[tuple[Token, bool]] = field(default_factory=list)  # (key token, value is array)
    data_sources: list[tuple[Token, bool]] | None = None
    variables: list[Token] = field(default_factory=list)
    rules: list[Node] = field(default_factory=list)
    analyzers: list[DqRule] = field(default_factory=list)
    trailing: list[Token] = field(default_factory=list)  # ignored by AWS (D); our own checks refuse them


# ---------------------------------------------------------------------------------------------------
# Parser: depth-first over G's alternatives, in grammar order; generators yield (next index, tree).
# ---------------------------------------------------------------------------------------------------

_NUMBER_OPS = ("+", "NEGATIVE", "/", "*")  # G: numberOp
_COMPARATORS = ("GREATER_THAN", "GREATER_THAN_EQUAL_TO", "LESS_THAN", "LESS_THAN_EQUAL_TO")
_DURATION_UNITS = ("days", "hours", "minutes")
_SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")

Parse = Iterator[tuple[int, object]]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.t = tokens
        self.farthest = 0
        self.expected: set[str] = set()

    # -- helpers ------------------------------------------------------------------------------------
    def at(self, i: int, *kinds: str) -> bool:
        if self.t[i].kind in kinds:
            return True
        if i > self.farthest:
            self.farthest, self.expected = i, set(kinds)
        elif i == self.farthest:
            self.expected.update(kinds)
        return False

    def text(self, start: int, end: int) -> str:
        return " ".join(tok.text for tok in self.t[start:end])

    def error(self) -> DqdlError:
        tok = self.t[self.farthest]
        expected = ", ".join(sorted(self.expected))
        return DqdlError(
            [f"line {tok.line}:{tok.column} unexpected {tok.describe()} (expecting one of: {expected})"]
        )

    def separated(self, i: int, item, sep: str = "COMMA") -> Parse:
        """item (sep item)*, greedy."""
        for j, first in item(i):
            yield from self._separated_tail(j, item, sep, [first])

    def _separated_tail(self, i: int, item, sep: str, acc: list) -> Parse:
        if self.at(i, sep):
            for j, nxt in item(i + 1):
                yield from self._separated_tail(j, item, sep, [*acc, nxt])
        yield i, acc

    def bracketed(self, i: int, item) -> Parse:
        """LBRAC item (COMMA item)* RBRAC."""
        if self.at(i, "LBRAC"):
            for j, items in self.separated(i + 1, item):
                if self.at(j, "RBRAC"):
                    yield j + 1, items

    # -- document -----------------------------------------------------------------------------------
    def document(self) -> Document:
        for _end, doc in self._document(0):
            return doc
        raise self.error()

    def _document(self, i: int) -> Parse:
        for j, metadata in self._optional(i, lambda k: self._section(k, "Metadata")):
            for k, sources in self._optional(j, lambda k: self._section(k, "DataSources")):
                for m, variables in self._variables(k):
                    for n, (rules, analyzers) in self._rules_or_analyzers(m):
                        yield n, Document(metadata or [], sources, variables, rules, analyzers, self.t[n:-1])

    def _optional(self, i: int, item) -> Parse:
        yield from item(i)
        yield i, None

    def _section(self, i: int, start: str) -> Parse:
        """metadata | dataSources: start EQUAL_TO dictionary (LCURL pair (COMMA pair)* RCURL)."""
        if self.at(i, start) and self.at(i + 1, "EQUAL_TO") and self.at(i + 2, "LCURL"):
            for j, pairs in self.separated(i + 3, self._pair):
                if self.at(j, "RCURL"):
                    yield j + 1, pairs

    def _pair(self, i: int) -> Parse:
        if self.at(i, "QUOTED_STRING") and self.at(i + 1, "COLON"):
            if self.at(i + 2, "QUOTED_STRING"):
                yield i + 3, (self.t[i], False)
            for j, _ in self.bracketed(i + 2, lambda k: self._token(k, "QUOTED_STRING")):
                yield j, (self.t[i], True)

    def _token(self, i: int, *kinds: str) -> Parse:
        if self.at(i, *kinds):
            yield i + 1, self.t[i]

    def _variables(self, i: int) -> Parse:
        """variableDeclaration*: IDENTIFIER EQUAL_TO stringValuesArray (greedy)."""
        if self.at(i, "IDENTIFIER") and self.at(i + 1, "EQUAL_TO"):
            for j, _ in self.bracketed(i + 2, self._string_value):
                for k, rest in self._variables(j):
                    yield k, [self.t[i], *rest]
        yield i, []

    def _rules_or_analyzers(self, i: int) -> Parse:
        """rulesOrAnalyzers: rules | analyzers | rules analyzers.

        After ``rules``, ANTLR's prediction commits to ``rules analyzers`` when 'Analyzers' follows."""
        for j, rules in self.rules_section(i):
            if self.t[j].kind == "Analyzers":
                for k, analyzers in self.analyzers_section(j):
                    yield k, (rules, analyzers)
            else:
                yield j, (rules, [])
        for j, analyzers in self.analyzers_section(i):
            yield j, ([], analyzers)

    def rules_section(self, i: int) -> Parse:
        if self.at(i, "Rules") and self.at(i + 1, "EQUAL_TO") and self.at(i + 2, "LBRAC"):
            for j, rules in self.separated(i + 3, self.top_level_rule):
                if self.at(j, "RBRAC"):
                    yield j + 1, rules
            if self.at(i + 3, "RBRAC"):
                yield i + 4, []

    def analyzers_section(self, i: int) -> Parse:
        if self.at(i, "Analyzers") and self.at(i + 1, "EQUAL_TO") and self.at(i + 2, "LBRAC"):
            for j, analyzers in self.separated(i + 3, self._analyzer):
                if self.at(j, "RBRAC"):
                    yield j + 1, analyzers
            if self.at(i + 3, "RBRAC"):
                yield i + 4, []

    def _analyzer(self, i: int) -> Parse:
        if self.at(i, "IDENTIFIER"):
            for j, params in self._params(i + 1):
                yield j, DqRule(self.t[i], self.t[i].text, tuple(params))

    # -- rules --------------------------------------------------------------------------------------
    def top_level_rule(self, i: int) -> Parse:
        """primary ((AND | OR) primary)*, then folded with AND above OR, both left-associative."""
        for j, first in self._top_level_primary(i):
            for k, (operands, operators) in self._top_level_tail(j, [first], []):
                yield k, _fold(operands, operators)

    def _top_level_tail(self, i: int, operands: list, operators: list) -> Parse:
        if self.at(i, "AND", "OR"):
            for j, nxt in self._top_level_primary(i + 1):
                yield from self._top_level_tail(j, [*operands, nxt], [*operators, self.t[i].kind])
        yield i, (operands, operators)

    def _top_level_primary(self, i: int) -> Parse:
        if self.at(i, "LPAREN"):
            for j, inner in self.top_level_rule(i + 1):
                if self.at(j, "RPAREN"):
                    yield j + 1, Paren(inner)
        yield from self.dq_rule(i)

    def dq_rule(self, i: int) -> Parse:
        """ruleType parameterWithConnectorWord* condition? whereClause? tagWithCondition*."""
        if not self.at(i, "IDENTIFIER"):
            return
        for j, params in self._params(i + 1):
            for k, condition in self._optional(j, self.condition):
                for m, where in self._optional(k, self._where):
                    for n, tags in self._tags(m):
                        yield (
                            n,
                            DqRule(self.t[i], self.t[i].text, tuple(params), condition, where, tuple(tags)),
                        )

    def _params(self, i: int) -> Parse:
        """parameterWithConnectorWord*: (OF | AND)? (QUOTED_STRING | IDENTIFIER), greedy."""
        starts = ([(i + 1, self.t[i].text)] if self.at(i, "OF", "AND") else []) + [(i, "")]
        for start, connector in starts:
            if self.at(start, "QUOTED_STRING", "IDENTIFIER"):
                tok = self.t[start]
                quoted = tok.kind == "QUOTED_STRING"
                param = Param(tok.text[1:-1] if quoted else tok.text, quoted, connector)
                for j, rest in self._params(start + 1):
                    yield j, [param, *rest]
        yield i, []

    def _where(self, i: int) -> Parse:
        if self.at(i, "where") and self.at(i + 1, "QUOTED_STRING"):
            yield i + 2, self.t[i + 1].text

    def _tags(self, i: int) -> Parse:
        """tagWithCondition*: 'with' tagValues (stringBasedCondition | numberBasedCondition), greedy."""
        if self.at(i, "with") and self.at(i + 1, "QUOTED_STRING", "IDENTIFIER"):
            key = self.t[i + 1].text.strip('"')
            for cond in (self.string_condition, lambda k: self.comparison(k, "number", self.number)):
                for j, condition in cond(i + 2):
                    for k, rest in self._tags(j):
                        yield k, [Tag(key, condition), *rest]
        yield i, []

    # -- conditions ---------------------------------------------------------------------------------
    def condition(self, i: int) -> Parse:
        yield from self.comparison(i, "number", self.number)
        yield from self.string_condition(i)
        yield from self.comparison(i, "date", self.date_expr)
        yield from self.comparison(i, "duration", self.duration_expr)
        yield from self.comparison(i, "size", self.size_expr)

    def comparison(self, i: int, kind: str, operand) -> Parse:
        """<kind>BasedCondition: NOT? BETWEEN x AND x | > x | >= x | < x | <= x | NEGATION? = x | NOT? IN [x,..]."""

        def done(j: int, op_end: int) -> tuple[int, Condition]:
            return j, Condition(kind, self.text(i, op_end), self.text(i, j))

        negated = self.at(i, "NOT")
        op = i + 1 if negated else i
        if self.at(op, "BETWEEN"):
            for j, _ in operand(op + 1):
                if self.at(j, "AND"):
                    for k, _ in operand(j + 1):
                        yield done(k, op + 1)
        if self.at(op, "IN"):
            for j, _ in self.bracketed(op + 1, operand):
                yield done(j, op + 1)
        if negated:
            return
        if self.at(i, *_COMPARATORS):
            for j, _ in operand(i + 1):
                yield done(j, i + 1)
        eq = i + 1 if self.at(i, "NEGATION") else i
        if self.at(eq, "EQUAL_TO"):
            for j, _ in operand(eq + 1):
                yield done(j, eq + 1)

    def string_condition(self, i: int) -> Parse:
        """stringBasedCondition: NEGATION? = stringValues | NOT? IN (stringValuesArray | $var) | NOT? matches."""

        def done(j: int, op_end: int) -> tuple[int, Condition]:
            return j, Condition("string", self.text(i, op_end), self.text(i, j))

        eq = i + 1 if self.at(i, "NEGATION") else i
        if self.at(eq, "EQUAL_TO"):
            for j, _ in self._string_value(eq + 1):
                yield done(j, eq + 1)
        op = i + 1 if self.at(i, "NOT") else i
        if self.at(op, "IN"):
            for j, _ in self.bracketed(op + 1, self._string_value):
                yield done(j, op + 1)
            for j, _ in self._variable(op + 1):
                yield done(j, op + 1)
        if self.at(op, "matches") and self.at(op + 1, "QUOTED_STRING"):
            yield done(op + 2, op + 1)

    def _string_value(self, i: int) -> Parse:
        """stringValues: quotedString | variableDereference | NULL | EMPTY | WHITESPACES_ONLY."""
        if self.at(i, "QUOTED_STRING", "NULL", "EMPTY", "WHITESPACES_ONLY"):
            yield i + 1, self.t[i]
        yield from self._variable(i)

    def _variable(self, i: int) -> Parse:
        if self.at(i, "$") and self.at(i + 1, "IDENTIFIER"):
            yield i + 2, self.t[i + 1]

    # -- operands -----------------------------------------------------------------------------------
    def number(self, i: int) -> Parse:
        """number: number numberOp number | functionCall | ( number ) | atomicNumber | NULL."""
        for j, _ in self._number_primary(i):
            if self.at(j, *_NUMBER_OPS):
                yield from self.number(j + 1)
            yield j, None

    def _number_primary(self, i: int) -> Parse:
        if self.at(i, "IDENTIFIER") and self.at(i + 1, "LPAREN"):  # functionCall
            if self.at(i + 2, "RPAREN"):
                yield i + 3, None
            for j, _ in self.separated(i + 2, self.number):
                if self.at(j, "RPAREN"):
                    yield j + 1, None
        if self.at(i, "LPAREN"):
            for j, _ in self.number(i + 1):
                if self.at(j, "RPAREN"):
                    yield j + 1, None
        sign = i + 1 if self.at(i, "NEGATIVE") else i  # atomicNumber
        if self.at(sign, "DIGIT", "INT", "DECIMAL"):
            yield sign + 1, None
        if self.at(i, "NULL"):
            yield i + 1, None

    def date_expr(self, i: int) -> Parse:
        """dateExpression: DATE | now() | ( now() (-|+) durationExpression ) | TIME | MIL_TIME | NULL."""
        if self.at(i, "DATE", "now()", "TIME", "MIL_TIME", "NULL"):
            yield i + 1, None
        if self.at(i, "LPAREN") and self.at(i + 1, "now()") and self.at(i + 2, "NEGATIVE", "+"):
            for j, _ in self.duration_expr(i + 3):
                if self.at(j, "RPAREN"):
                    yield j + 1, None

    def duration_expr(self, i: int) -> Parse:
        if self.at(i, "DIGIT", "INT") and self.at(i + 1, *_DURATION_UNITS):
            yield i + 2, None

    def size_expr(self, i: int) -> Parse:
        if self.at(i, "DIGIT", "INT") and self.at(i + 1, *_SIZE_UNITS):
            yield i + 2, None


def _fold(operands: list[Node], operators: list[str]) -> Node:
    """Binary tree of a flat ``a op b op c`` with AND binding tighter than OR, left-associative."""
    or_terms: list[Node] = []
    current = operands[0]
    for op, nxt in zip(operators, operands[1:], strict=True):
        if op == "AND":
            current = Composite("AND", current, nxt)
        else:
            or_terms.append(current)
            current = nxt
    or_terms.append(current)
    tree = or_terms[0]
    for term in or_terms[1:]:
        tree = Composite("OR", tree, term)
    return tree


def parse(text: str) -> Document:
    """The parse tree of a DQDL document; raises ``DqdlError`` where AWS's grammar reports an error.

    Like ANTLR's token stream, the lexer is only read one token past the end of the document (D): a
    character error after that is never seen by AWS, so it is not reported here either."""
    tokens, lexer_errors = _lex(text)
    parser = _Parser(tokens)
    try:
        doc = parser.document()
    except DqdlError as syntax:
        seen = [message for k, message in lexer_errors if k <= parser.farthest]
        raise DqdlError(seen or syntax.errors) from None
    end = len(tokens) - 1 - len(doc.trailing)  # index of the first token after the document
    seen = [message for k, message in lexer_errors if k <= end]
    if seen:
        raise DqdlError(seen)
    return doc


# ---------------------------------------------------------------------------------------------------
# Rule-type table (C), with where-clause support from the examples AWS documents (T and the reference).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleType:
    name: str
    parameters: int  # count of declared parameters (C: "parameters")
    var_arg: bool  # last parameter "is_var_arg": that many or more
    return_type: str  # C: "return_type", alternatives separated by '|'
    threshold: bool = False  # C: "is_threshold_supported"
    analyzer_only: bool = False  # C: "is_analyzer_only"
    where: bool = False  # a where clause appears in an example of T or of the reference page


_DOC = "https://docs.aws.amazon.com/glue/latest/dg/dqdl-rule-types-{}.html"
# fmt: off
RULE_TYPES: tuple[RuleType, ...] = (
    # name, parameters, var-arg, return type, threshold, analyzer-only, where   (source: C; where: T / doc)
    RuleType("RowCount", 0, False, "NUMBER", where=True),                          # T 'RowCount = 100 where'
    RuleType("RowCountMatch", 1, False, "NUMBER"),
    RuleType("ColumnCount", 0, False, "NUMBER"),
    RuleType("Completeness", 1, False, "NUMBER", where=True),                      # T, _DOC Completeness
    RuleType("IsComplete", 1, False, "BOOLEAN", where=True),                       # T, _DOC IsComplete
    RuleType("ColumnDataType", 1, False, "STRING", threshold=True, where=True),    # T
    RuleType("ColumnNamesMatchPattern", 1, False, "BOOLEAN"),
    RuleType("ColumnExists", 1, False, "BOOLEAN"),
    RuleType("ColumnCorrelation", 2, False, "NUMBER", where=True),                 # T
    RuleType("Uniqueness", 1, False, "NUMBER", where=True),                        # T
    RuleType("IsUnique", 1, False, "BOOLEAN", where=True),                         # T
    RuleType("Mean", 1, False, "NUMBER", where=True),                              # T
    RuleType("Sum", 1, False, "NUMBER", where=True),                               # T
    RuleType("StandardDeviation", 1, False, "NUMBER", where=True),                 # T
    RuleType("Entropy", 1, False, "NUMBER", where=True),                           # T
    RuleType("DistinctValuesCount", 1, False, "NUMBER", where=True),               # T
    RuleType("UniqueValueRatio", 1, False, "NUMBER", where=True),                  # T
    RuleType("ColumnLength", 1, False, "NUMBER", where=True),                      # T, _DOC ColumnLength
    RuleType("IsPrimaryKey", 1, True, "BOOLEAN", where=True),                      # T
    RuleType("ColumnValues", 1, False, "STRING_ARRAY|NUMBER_ARRAY|DATE_ARRAY", threshold=True,
             where=True),                                                          # T, _DOC ColumnValues
    RuleType("DataFreshness", 1, False, "DURATION_ARRAY", where=True),             # T
    RuleType("CustomSql", 1, False, "NUMBER|BOOLEAN", threshold=True),            # _DOC CustomSql
    RuleType("ReferentialIntegrity", 2, False, "NUMBER"),
    RuleType("DatasetMatch", 2, False, "NUMBER"),
    RuleType("DatasetMatch", 3, False, "NUMBER"),
    RuleType("SchemaMatch", 1, False, "NUMBER"),
    RuleType("AggregateMatch", 2, False, "NUMBER"),
    RuleType("DetectAnomalies", 1, True, "BOOLEAN"),
    RuleType("AllStatistics", 1, False, "NUMBER", analyzer_only=True),
)
# fmt: on
# Not in C's stored version, so not validated here (their examples in T are parsed, not validated):
# FileFreshness, FileMatch, FileSize, FileUniqueness. C has no where-clause flag at that commit; P
# (newer) refuses a where clause unless the rule type supports it, so ``where`` above is True only
# where AWS shows one in an example. A where clause elsewhere is reported as undocumented.

_MAX_NESTING_DEPTH = 5  # P: COMPOSITE_RULE_MAX_NESTING_DEPTH
_METADATA_KEYS = frozenset({"Version"})  # P: ALLOWED_METADATA_KEYS
_SOURCES_KEYS = frozenset({"Primary", "AdditionalDataSources"})  # P: ALLOWED_SOURCES_KEYS


def rule_type(name: str, parameter_count: int) -> RuleType | None:
    """C: DQRuleType.getRuleType: the first type with this name whose parameter count fits."""
    for rt in RULE_TYPES:
        fits = parameter_count >= rt.parameters if rt.var_arg else parameter_count == rt.parameters
        if rt.name == name and fits:
            return rt
    return None


def _where(tok: Token) -> str:
    return f"line {tok.line}:{tok.column}"


def _rule_errors(rule: DqRule) -> list[str]:
    """P: getDQRule (rule type and parameter count, condition kind, where clause, tags)."""
    at = _where(rule.token)
    rt = rule_type(rule.rule_type, len(rule.params))
    if rt is None:
        return [
            f"{at} Rule Type: {rule.rule_type} is not valid (no such type with {len(rule.params)} parameter(s))"
        ]
    if rt.analyzer_only:
        return [f"{at} Analyzer Type: {rule.rule_type} is not supported in rules section"]
    errors = []
    failures = []
    for returned in rt.return_type.split("|"):
        expected = returned.removesuffix("_ARRAY").lower()
        if expected == "boolean":
            ok = rule.condition is None
        elif expected == "size":
            ok = rule.condition is not None and rule.condition.kind in ("size", "number")
        else:
            ok = rule.condition is not None and rule.condition.kind == expected
        if ok:
            break
        failures.append(
            f"{at} Unexpected condition for rule of type {rule.rule_type} with {expected} return type"
            f" (condition: {rule.condition.text if rule.condition else 'none'})"
        )
    else:
        errors.append(failures[0])
    if rule.where is not None:
        if rule.where == '""':
            errors.append(f"{at} Empty where condition provided for rule type: {rule.rule_type}")
        elif not rt.where:
            errors.append(f"{at} Where clause is not documented as supported for rule type: {rule.rule_type}")
    thresholds = [t for t in rule.tags if t.condition.kind == "number"]
    if thresholds and not rt.threshold:
        errors.append(f"{at} Threshold condition not supported for rule type: {rule.rule_type}")
    if len(thresholds) > 1:
        errors.append(f"{at} Only one threshold condition at a time is supported.")
    for tag in rule.tags:
        if tag.condition.kind == "string" and tag.condition.operator != "=":
            errors.append(f"{at} Only EQUAL_TO condition is supported for String tags.")
    return errors


def _node_errors(node: Node, depth: int) -> list[str]:
    """P: parseTopLevelRule: parentheses are transparent, each AND/OR adds one level of depth."""
    if isinstance(node, Paren):
        return _node_errors(node.inner, depth)
    if isinstance(node, Composite):
        return _node_errors(node.left, depth + 1) + _node_errors(node.right, depth + 1)
    if depth > _MAX_NESTING_DEPTH:
        return [
            f"{_where(node.token)} Maximum nested expression depth of {_MAX_NESTING_DEPTH} reached for composite rule"
        ]
    return _rule_errors(node)


def validate(doc: Document) -> list[str]:
    """P's checks after a successful parse; an empty list means AWS's parser returns a ruleset."""
    errors: list[str] = []
    for key, _ in doc.metadata:
        if key.text.strip('"') not in _METADATA_KEYS:
            errors.append(f"{_where(key)} Unsupported key provided in Metadata section: {key.text}")
    for key, is_array in doc.data_sources or []:
        name = key.text.strip('"')
        if name not in _SOURCES_KEYS:
            errors.append(f"{_where(key)} Unsupported key provided in Sources section: {key.text}")
        elif name == "AdditionalDataSources" and not is_array:
            errors.append(f"{_where(key)} Additional sources must be an array of values.")
    seen: set[str] = set()
    for var in doc.variables:
        if var.text.startswith((".", "_")):
            errors.append(f"{_where(var)} Variable name '{var.text}' cannot start with '.' or '_'")
        if var.text in seen:
            errors.append(f"{_where(var)} Variable '{var.text}' is already defined")
        seen.add(var.text)
    for node in doc.rules:
        errors.extend(_node_errors(node, 0))
    for analyzer in doc.analyzers:
        rt = rule_type(analyzer.rule_type, len(analyzer.params))
        if rt is None:
            errors.append(f"{_where(analyzer.token)} Analyzer Type: {analyzer.rule_type} is not valid")
        elif rt.return_type == "BOOLEAN":
            errors.append(f"{_where(analyzer.token)} Analyzer Type: {analyzer.rule_type} is not supported")
    if not errors and not doc.rules and not doc.analyzers:
        errors.append("No rules or analyzers provided.")
    return errors


def check(text: str, *, allow_trailing: bool = False) -> Document:
    """Parse and validate as AWS does; raise ``DqdlError`` naming line, column and token of each problem.

    ``allow_trailing=False`` (our artifacts) also refuses text after the document, which AWS's parser
    ignores silently (D): a rule left there would never be evaluated."""
    doc = parse(text)
    errors = validate(doc)
    if doc.trailing and not allow_trailing:
        tok = doc.trailing[0]
        errors.append(f"{_where(tok)} text after the end of the document, ignored by AWS: {tok.describe()}")
    if errors:
        raise DqdlError(errors)
    return doc


def rule_types_used(doc: Document) -> list[str]:
    """The rule types of every rule (composites flattened), in order."""
    out: list[str] = []

    def walk(node: Node) -> None:
        if isinstance(node, Paren):
            walk(node.inner)
        elif isinstance(node, Composite):
            walk(node.left)
            walk(node.right)
        else:
            out.append(node.rule_type)

    for node in doc.rules:
        walk(node)
    return out
