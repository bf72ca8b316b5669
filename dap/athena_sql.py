"""Athena SQL for the named queries: parse it as Athena does, check it, and transpile it to Spark SQL.

Each ``queries/*.sql`` file is deployed unchanged as an ``AWS::Athena::NamedQuery`` and runs on Athena
engine 3, whose SELECT dialect is Trino's. The file is the source of truth; ``dap local`` runs
``to_spark(file)`` (sqlglot, ``read="athena"``, ``write="spark"``), never a second hand-written copy.

sqlglot's Athena reader is lenient: it accepts many Spark/Hive forms (``nvl``, ``a == b``, ``LIMIT 1, 2``,
``SORT BY``...) and silently rewrites or drops them, so "sqlglot parses it" does not mean "Athena runs
it". ``check`` adds what the published references say on top of the parse:

* functions: every call must name a function of Athena engine 3, i.e. the Trino function list Athena's
  functions page defers to (``ATHENA_ENGINE3_FUNCTIONS``), with argument counts for the usual traps;
* syntax: tokens and token sequences that Trino's grammar (``SqlBase.g4``) has no rule for;
* identifiers: the reserved keywords Athena lists for SELECT statements must be double-quoted;
* ``date_format``/``date_parse`` take MySQL-style ``%`` specifiers, not Spark's Java patterns.

References (cited again next to each table):
  https://docs.aws.amazon.com/athena/latest/ug/functions-env3.html
  https://trino.io/docs/current/functions/list.html
  https://github.com/trinodb/trino/blob/master/core/trino-grammar/src/main/antlr4/io/trino/grammar/sql/SqlBase.g4
  https://docs.aws.amazon.com/athena/latest/ug/reserved-words.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

FUNCTIONS_DOC = "https://docs.aws.amazon.com/athena/latest/ug/functions-env3.html"
TRINO_FUNCTIONS_DOC = "https://trino.io/docs/current/functions/list.html"
TRINO_DATETIME_DOC = "https://trino.io/docs/current/functions/datetime.html"
TRINO_GRAMMAR = (
    "https://github.com/trinodb/trino/blob/master/core/trino-grammar/src/main/antlr4/io/trino/grammar/"
    "sql/SqlBase.g4"
)
RESERVED_DOC = "https://docs.aws.amazon.com/athena/latest/ug/reserved-words.html"
ENGINE3_DOC = "https://docs.aws.amazon.com/athena/latest/ug/engine-versions-reference-0003.html"
TYPES_DOC = "https://docs.aws.amazon.com/athena/latest/ug/data-types.html"
NAMES_DOC = "https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html"

# -- functions ----------------------------------------------------------------------------------------
# Athena engine 3 functions "are based on Trino" and the page defers to Trino's documentation
# (FUNCTIONS_DOC). Transcribed from Trino's "List of functions and operators" (TRINO_FUNCTIONS_DOC;
# source trinodb/trino docs/src/main/sphinx/functions/list.md at commit 01e94c03cffc), names only,
# operators and predicates (||, BETWEEN, IS NULL, ...) left out because they are grammar, not calls.
# Deliberately NOT transcribed, so a query using them fails the check:
#   first, last, prev, next, classifier, match_number, permute: only valid inside MATCH_RECOGNIZE;
#   char2hexint, index, to_char, to_date, to_timestamp: Trino's Teradata plugin, which the Athena page
#     does not confirm (and Spark's to_date/to_timestamp take different arguments);
#   random_string (Faker connector), objectid, objectid_timestamp, timestamp_objectid (MongoDB
#     connector): connector functions; Athena runs no Trino connectors (ENGINE3_DOC, Limitations).
# Caveat: the list is Trino's current one; Athena tracks Trino continuously but may lag a few releases.
_TRINO_FUNCTION_LIST = """
abs acos all_match any_match any_value approx_distinct approx_most_frequent approx_percentile approx_set
arbitrary array_agg array_distinct array_except array_first array_histogram array_intersect array_join
array_last array_max array_min array_position array_remove array_sort array_union arrays_overlap asin
at_timezone atan atan2 avg
bar beta_cdf bing_tile bing_tile_at bing_tile_coordinates bing_tile_polygon bing_tile_quadkey
bing_tile_zoom_level bing_tiles_around bit_count bitwise_and bitwise_and_agg bitwise_left_shift bitwise_not
bitwise_or bitwise_or_agg bitwise_right_shift bitwise_right_shift_arithmetic bitwise_xor bool_and bool_or
cardinality cast cbrt ceil ceiling checksum chr classify coalesce codepoint collect color combinations
concat concat_ws contains contains_sequence convex_hull_agg corr cos cosh cosine_distance
cosine_similarity count count_if covar_pop covar_samp crc32 cume_dist current_date current_groups
current_time current_timestamp current_timezone current_user
date date_add date_diff date_format date_parse date_trunc day day_of_month day_of_week day_of_year
degrees dense_rank dow doy
e element element_at empty_approx_set ends_with evaluate_classifier_predictions every exclude_columns
extract exp
features filter first_value flatten floor format format_datetime format_number from_base from_base32
from_base64 from_base64url from_big_endian_32 from_big_endian_64 from_encoded_polyline from_geojson_geometry
from_hex from_ieee754_32 from_ieee754_64 from_iso8601_date from_iso8601_timestamp
from_iso8601_timestamp_nanos from_unixtime from_unixtime_nanos from_utf8 fusion
geometric_mean geometry_collect_agg geometry_from_hadoop_shape geometry_invalid_reason
geometry_nearest_points geometry_to_bing_tiles geometry_union geometry_union_agg great_circle_distance
greatest
hamming_distance hash_counts histogram hmac_md5 hmac_sha1 hmac_sha256 hmac_sha512 hour
human_readable_seconds
if infinity intersection intersection_cardinality inverse_beta_cdf inverse_normal_cdf is_finite
is_infinite is_json_scalar is_nan
jaccard_index json json_array json_array_contains json_array_get json_array_length json_exists
json_extract json_extract_scalar json_format json_object json_parse json_query json_scalar json_serialize
json_size json_value
kurtosis
lag last_day_of_month last_value lead learn_classifier learn_libsvm_classifier learn_libsvm_regressor
learn_regressor least length levenshtein_distance line_interpolate_point line_interpolate_points
line_locate_point listagg ln localtime localtimestamp log log10 log2 lower lpad ltrim luhn_check
make_set_digest map map_agg map_concat map_entries map_filter map_from_entries map_keys map_union
map_values map_zip_with max max_by md5 merge merge_set_digest millisecond min min_by minute mod month
multimap_agg multimap_from_entries murmur3
nan ngrams none_match normal_cdf normalize now nth_value ntile nullif numeric_histogram
parse_datetime parse_duration parse_data_size percent_rank pi position pow power
qdigest_agg quarter
radians rand random rank reduce reduce_agg regexp_count regexp_extract regexp_extract_all regexp_like
regexp_position regexp_replace regexp_split regress regr_intercept regr_slope render repeat replace
reverse rgb round row_number rpad rtrim
second sequence set sha1 sha256 sha512 shuffle sign simplify_geometry sin sinh skewness slice soundex
spatial_partitioning spatial_partitions split split_part split_to_map split_to_multimap spooky_hash_v2_32
spooky_hash_v2_64 sqrt
st_area st_asbinary st_asewkb st_asewkt st_astext st_boundary st_buffer st_centroid st_collect
st_contains st_convexhull st_coorddim st_crosses st_difference st_dimension st_disjoint st_distance
st_endpoint st_envelope st_envelopeaspts st_equals st_exteriorring st_force2d st_force3d st_geometries
st_geometryfromtext st_geometryn st_geometrytype st_geomfrombinary st_geomfromewkt st_geomfromkml
st_interiorringn st_interiorrings st_intersection st_intersects st_isclosed st_isempty st_isring
st_issimple st_isvalid st_length st_linefromtext st_linemerge st_linestring st_makeline st_makepolygon
st_minimumboundingcircle st_multi st_multipoint st_normalize st_numgeometries st_numinteriorring
st_numpoints st_orientedenvelope st_overlaps st_point st_pointn st_pointonsurface st_points st_polygon
st_polygonize st_relate st_reduceprecision st_setsrid st_srid st_startpoint st_symdifference st_touches
st_transform st_union st_voronoipolygons st_within st_x st_xmax st_xmin st_y st_ymax st_ymin st_z
starts_with stddev stddev_pop stddev_samp strpos substr substring sum
tan tanh tdigest_agg theta_sketch_cardinality theta_sketch_union timezone timezone_hour timezone_minute
title_case to_base to_base32 to_base64 to_base64url to_big_endian_32 to_big_endian_64
to_encoded_polyline to_geojson_geometry to_geometry to_hex to_ieee754_32 to_ieee754_64 to_iso8601
to_milliseconds to_spherical_geography to_unixtime to_utf8 transform transform_keys transform_values
translate trim trim_array truncate try try_cast typeof
upper url_decode url_encode url_extract_fragment url_extract_host url_extract_parameter url_extract_path
url_extract_protocol url_extract_port url_extract_query uuid
value_at_quantile values_at_quantiles var_pop var_samp variance version
week week_of_year width_bucket wilson_interval_lower wilson_interval_upper with_timezone word_stem
xxhash64
year year_of_week yow
zip zip_with
"""
# Call forms that are grammar rules of their own in SqlBase.g4 (primaryExpression / groupingElement):
# ROW(...), GROUPING(...), and the CURRENT_TIME/CURRENT_TIMESTAMP/LOCALTIME/LOCALTIMESTAMP (precision).
_TRINO_GRAMMAR_CALLS = "row grouping"
# "The invoker_principal function is unique to Athena engine version 3 and is not found in Trino."
# (FUNCTIONS_DOC)
_ATHENA_ONLY_FUNCTIONS = "invoker_principal"

ATHENA_ENGINE3_FUNCTIONS: frozenset[str] = frozenset(
    (_TRINO_FUNCTION_LIST + _TRINO_GRAMMAR_CALLS + " " + _ATHENA_ONLY_FUNCTIONS).split()
)

# What to write instead, for Spark/Hive functions people reach for (the names are absent from the
# Trino list above; the replacements are in it).
SPARK_ONLY_HINTS: dict[str, str] = {
    "nvl": "coalesce(a, b)",
    "ifnull": "coalesce(a, b)",
    "nvl2": "if(a is not null, b, c)",
    "iff": "if(cond, a, b)",
    "datediff": "date_diff('day', start, end)",
    "date_sub": "date_add('day', -n, d)",
    "add_months": "date_add('month', n, d)",
    "months_between": "date_diff('month', start, end)",
    "trunc": "date_trunc(unit, d)",
    "to_date": "date(x) or cast(x as date); date_parse(s, '%Y-%m-%d') for a pattern",
    "to_timestamp": "cast(x as timestamp) or date_parse(s, format)",
    "unix_timestamp": "to_unixtime(ts)",
    "collect_list": "array_agg(x)",
    "collect_set": "array_agg(distinct x)",
    "size": "cardinality(array)",
    "array_size": "cardinality(array)",
    "instr": "strpos(s, sub)",
    "locate": "strpos(s, sub)",
    "lcase": "lower(s)",
    "ucase": "upper(s)",
    "len": "length(s)",
    "char_length": "length(s)",
    "character_length": "length(s)",
    "percentile_approx": "approx_percentile(x, p)",
    "percentile": "approx_percentile(x, p)",
    "first": "arbitrary(x), or first_value(x) over (...)",
    "last": "arbitrary(x), or last_value(x) over (...)",
    "pmod": "mod(a, b) (sign differs for negatives)",
    "struct": "row(...) or cast(row(...) as row(name type, ...))",
    "named_struct": "cast(row(...) as row(name type, ...))",
    "array": "array[...]",
    "explode": "cross join unnest(array) as t (x)",
    "date_part": "extract(field from d)",
    "dayofweek": "day_of_week(d)",
    "dayofmonth": "day_of_month(d)",
    "dayofyear": "day_of_year(d)",
    "weekofyear": "week_of_year(d)",
    "arg_max": "max_by(x, y)",
    "arg_min": "min_by(x, y)",
    "std": "stddev(x)",
    "string_agg": "listagg(x, sep) within group (order by ...)",
}

# Argument counts (min, max; None = no maximum) from each function's signature on Trino's pages
# (TRINO_DATETIME_DOC and https://trino.io/docs/current/functions/string.html,
# .../conditional.html, .../math.html); concat needs two or more on Athena engine 3 (ENGINE3_DOC,
# "CONCAT function must have two or more arguments"). Chosen where Spark's signature differs.
ARITY: dict[str, tuple[int, int | None]] = {
    "concat": (2, None),
    "date_add": (3, 3),
    "date_diff": (3, 3),
    "date_trunc": (2, 2),
    "date_format": (2, 2),
    "date_parse": (2, 2),
    "format_datetime": (2, 2),
    "parse_datetime": (2, 2),
    "from_unixtime": (1, 3),
    "round": (1, 2),
    "coalesce": (2, None),
    "nullif": (2, 2),
    "if": (2, 3),
    "split_part": (3, 3),
    "substr": (2, 3),
    "strpos": (2, 3),
    "regexp_extract": (2, 3),
    "regexp_replace": (2, 3),
    "regexp_like": (2, 2),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
}

# -- syntax -------------------------------------------------------------------------------------------
# Tokens sqlglot's Athena reader accepts but Trino's grammar (TRINO_GRAMMAR) has no rule for: its
# operators are = <> != < <= > >= + - * / % || only; no '::', no backquoted identifiers in DML (Athena:
# "To escape reserved keywords in SQL SELECT statements ... enclose them in double quotes", RESERVED_DOC),
# no HiveQL clauses. Keyed by sqlglot token type; the text filter tells '==' from '='.
_BAD_TOKENS: dict[TokenType, tuple[str, str]] = {
    TokenType.DCOLON: ("'::' cast", "write cast(x as type)"),
    TokenType.NULLSAFE_EQ: ("'<=>'", "write a is not distinct from b"),
    TokenType.DAMP: ("'&&'", "write and"),
    TokenType.AMP: ("'&' (bitwise)", "write bitwise_and(a, b)"),
    TokenType.PIPE: ("'|' (bitwise)", "write bitwise_or(a, b)"),
    TokenType.CARET: ("'^' (bitwise)", "write bitwise_xor(a, b)"),
    TokenType.TILDE: ("'~' (bitwise)", "write bitwise_not(a)"),
    TokenType.DIV: ("'div' (integer division)", "divide integers with '/' (Trino truncates) or use floor"),
    TokenType.RLIKE: ("rlike/regexp operator", "write regexp_like(s, pattern)"),
    TokenType.ILIKE: ("ilike", "write lower(s) like lower(pattern)"),
    TokenType.SORT_BY: ("SORT BY (HiveQL)", "write ORDER BY"),
    TokenType.DISTRIBUTE_BY: ("DISTRIBUTE BY (HiveQL)", "remove it"),
    TokenType.CLUSTER_BY: ("CLUSTER BY (HiveQL)", "write ORDER BY"),
}
_NO_PARENS = {TokenType.CURRENT_DATE, TokenType.CURRENT_USER, TokenType.CURRENT_CATALOG}
_PRECISION_ONLY = {
    TokenType.CURRENT_TIME,
    TokenType.CURRENT_TIMESTAMP,
    TokenType.LOCALTIME,
    TokenType.LOCALTIMESTAMP,
}

# "Athena uses Apache Hive data type names for DDL statements ... For DML queries like SELECT, CTAS, and
# INSERT INTO, Athena uses Trino data type names" (TYPES_DOC): the DDL-only names, with their DML name.
HIVE_ONLY_TYPES: dict[str, str] = {
    "string": "varchar",
    "float": "real",
    "binary": "varbinary",
    "struct": "row(name type, ...)",
}

# "List of reserved keywords in SQL SELECT statements" (RESERVED_DOC; also awsdocs/amazon-athena-user-
# guide doc_source/reserved-words.md), transcribed as published ("UNESCAPE" is the page's spelling of
# Trino's UESCAPE: both kept), plus SKIP, reserved for DML since engine 3 (ENGINE3_DOC, Breaking changes).
_SELECT_RESERVED = """
    ALTER AND AS BETWEEN BY CASE CAST CONSTRAINT CREATE CROSS CUBE CURRENT_DATE CURRENT_PATH CURRENT_TIME
    CURRENT_TIMESTAMP CURRENT_USER DEALLOCATE DELETE DESCRIBE DISTINCT DROP ELSE END ESCAPE EXCEPT EXECUTE
    EXISTS EXTRACT FALSE FIRST FOR FROM FULL GROUP GROUPING HAVING IN INNER INSERT INTERSECT INTO IS JOIN
    LAST LEFT LIKE LOCALTIME LOCALTIMESTAMP NATURAL NORMALIZE NOT NULL ON OR ORDER OUTER PREPARE RECURSIVE
    RIGHT ROLLUP SELECT TABLE THEN TRUE UNESCAPE UESCAPE UNION UNNEST USING VALUES WHEN WHERE WITH SKIP
    """
ATHENA_SELECT_RESERVED: frozenset[str] = frozenset(_SELECT_RESERVED.split())

# Trino's date_format/date_parse take MySQL-style specifiers (%Y-%m-%d); format_datetime/parse_datetime
# take Joda patterns (yyyy-MM-dd), as Spark's date_format does (TRINO_DATETIME_DOC, "MySQL date
# functions" and "Java date functions").
_MYSQL_FORMAT_FUNCTIONS = {"date_format", "date_parse"}
_JODA_FORMAT_FUNCTIONS = {"format_datetime", "parse_datetime"}
_GLUE_NAME = re.compile(r"[a-z0-9_]+")
_JAVA_PATTERN = re.compile(r"yy|MM|dd|HH|mm|ss|SSS|EEE|a\b")


class _TrinoKeepingNames(Trino):
    """Trino, recording each known function's name as written (sqlglot maps ``nvl`` to Coalesce)."""

    ORIGINAL_NAME_META_KEY = "athena_sql_name"


_ATHENA = Athena()
_NAME_KEY = _TrinoKeepingNames.ORIGINAL_NAME_META_KEY


@dataclass(frozen=True)
class Problem:
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, col {self.col}: {self.message}"


def _statements(sql: str) -> list[exp.Expr]:
    parser = _ATHENA.parser(error_level=ErrorLevel.RAISE, trino=_TrinoKeepingNames())
    return [s for s in parser.parse(_ATHENA.tokenize(sql), sql) if s is not None]


def parse(sql: str) -> exp.Expr:
    """The one statement in ``sql``, parsed as Athena parses DML (Trino); raises ``ParseError``."""
    statements = _statements(sql)
    if len(statements) != 1:
        raise ParseError(f"expected exactly one SQL statement, found {len(statements)}")
    return statements[0]


def to_spark(sql: str) -> str:
    """The Spark SQL 3.5 text of an Athena query (raises if sqlglot cannot express a construct)."""
    return parse(sql).sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def check(sql: str) -> list[str]:
    """Everything in ``sql`` that Athena engine 3 would reject, as ``line L, col C: problem`` texts."""
    try:
        tokens = _ATHENA.tokenize(sql)
    except TokenError as exc:
        return [f"line 1, col 1: does not tokenize as Athena SQL: {_first_line(exc)}"]
    problems = _token_problems(tokens)
    try:
        tree = parse(sql)
    except ParseError as exc:
        if not problems:  # a lexical problem above is the clearer message for the same spot
            where = (exc.errors or [{}])[0]
            problems.append(
                Problem(
                    where.get("line") or 1,
                    where.get("col") or 1,
                    f"does not parse as Athena SQL: {where.get('description') or _first_line(exc)}",
                )
            )
        return [str(p) for p in problems]
    if not isinstance(tree, exp.Query):
        problems.append(Problem(1, 1, f"a named query here is a SELECT, got {tree.key.upper()}"))
    problems += _function_problems(tree, tokens)
    problems += _reserved_word_problems(tree)
    return [str(p) for p in sorted(set(problems), key=lambda p: (p.line, p.col, p.message))]


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def _at(token: Token, message: str) -> Problem:
    return Problem(token.line, max(token.col - len(token.text) + 1, 1), message)


def _token_problems(tokens: list[Token]) -> list[Problem]:
    problems = []
    backticks = 0
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        kind = tok.token_type
        if kind == TokenType.UNKNOWN and tok.text == "`":
            backticks += 1
            if backticks % 2:  # the opening one of a pair
                problems.append(
                    _at(
                        tok,
                        f"backtick-quoted identifier: Athena SELECT quotes identifiers with "
                        f'double quotes ("name"); backticks are for DDL only ({RESERVED_DOC})',
                    )
                )
        elif kind in _BAD_TOKENS:
            what, instead = _BAD_TOKENS[kind]
            problems.append(_at(tok, f"{what} is not Trino syntax: {instead} ({TRINO_GRAMMAR})"))
        elif kind == TokenType.EQ and tok.text == "==":
            problems.append(_at(tok, f"'==' is not Trino syntax: write = ({TRINO_GRAMMAR})"))
        elif kind == TokenType.NOT and tok.text == "!":
            problems.append(_at(tok, f"'!' is not Trino syntax: write not ({TRINO_GRAMMAR})"))
        elif kind == TokenType.LATERAL and nxt and nxt.token_type == TokenType.VIEW:
            problems.append(
                _at(
                    tok,
                    f"LATERAL VIEW (HiveQL) is not Trino syntax: write cross join unnest(...) "
                    f"({TRINO_GRAMMAR})",
                )
            )
        elif kind == TokenType.WITH and nxt and nxt.token_type in (TokenType.ROLLUP, TokenType.CUBE):
            problems.append(
                _at(
                    tok,
                    f"GROUP BY ... WITH {nxt.text.upper()} is not Trino syntax: write GROUP BY "
                    f"{nxt.text.upper()} (a, b) ({TRINO_GRAMMAR})",
                )
            )
        elif kind == TokenType.LIMIT:
            problems += _limit_problems(tok, nxt, after)
        elif tok.text.upper() in ("CAST", "TRY_CAST") and nxt and nxt.token_type == TokenType.L_PAREN:
            problems += _cast_type_problems(tokens, i)
        elif (
            kind == TokenType.NUMBER and nxt and nxt.token_type == TokenType.VAR and nxt.start == tok.end + 1
        ):
            problems.append(
                _at(
                    tok,
                    f"numeric literal with a suffix ({tok.text}{nxt.text}) is Spark syntax; Trino reads "
                    f"it as an identifier starting with a digit: write cast({tok.text} as type) "
                    f"({TRINO_GRAMMAR})",
                )
            )
        elif (
            nxt
            and nxt.token_type == TokenType.L_PAREN
            and (
                kind in _NO_PARENS
                or (kind in _PRECISION_ONLY and after and after.token_type == TokenType.R_PAREN)
            )
        ):
            name = tok.text.lower()
            problems.append(
                _at(
                    tok,
                    f"{name}() with empty parentheses is Spark syntax: Trino writes {name} "
                    f"without them ({TRINO_GRAMMAR})",
                )
            )
    return problems


def _limit_problems(tok: Token, count: Token | None, after: Token | None) -> list[Problem]:
    # queryNoWith: ... (OFFSET rowCount (ROW | ROWS)?)? (LIMIT (ALL | INTEGER_VALUE | ?) | FETCH ...)?
    if count is None or not (count.text.upper() == "ALL" or re.fullmatch(r"\d+", count.text)):
        return [_at(tok, f"LIMIT takes an integer or ALL in Trino ({TRINO_GRAMMAR})")]
    if after is not None and after.token_type == TokenType.COMMA:
        return [
            _at(tok, f"'LIMIT offset, count' is not Trino syntax: write OFFSET n LIMIT m ({TRINO_GRAMMAR})")
        ]
    if after is not None and after.token_type == TokenType.OFFSET:
        return [_at(tok, f"Trino puts OFFSET before LIMIT: write OFFSET n LIMIT m ({TRINO_GRAMMAR})")]
    if after is not None and after.token_type not in (TokenType.R_PAREN, TokenType.SEMICOLON):
        return [_at(tok, f"LIMIT takes an integer or ALL in Trino, not an expression ({TRINO_GRAMMAR})")]
    return []


def _cast_type_problems(tokens: list[Token], index: int) -> list[Problem]:
    args = _call_args(tokens, index)
    if not args:
        return []
    arg = args[-1]
    depth = 0
    for j, tok in enumerate(arg[:-1]):
        depth += tok.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET)
        depth -= tok.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET)
        type_name = arg[j + 1].text.lower()
        if depth == 0 and tok.token_type == TokenType.ALIAS and type_name in HIVE_ONLY_TYPES:
            return [
                _at(
                    arg[j + 1],
                    f"{type_name} is a Hive/Spark type name; Athena SELECT uses Trino's "
                    f"{HIVE_ONLY_TYPES[type_name]} ({TYPES_DOC})",
                )
            ]
    return []


def _function_problems(tree: exp.Expr, tokens: list[Token]) -> list[Problem]:
    by_start = {t.start: i for i, t in enumerate(tokens)}
    problems = []
    for name, index in _calls(tree, tokens, by_start):
        tok = tokens[index]
        key = name.lower()
        if key not in ATHENA_ENGINE3_FUNCTIONS:
            hint = f"; write {SPARK_ONLY_HINTS[key]}" if key in SPARK_ONLY_HINTS else ""
            problems.append(
                _at(
                    tok,
                    f"{name}() is not an Athena engine 3 function (not in the Trino function list "
                    f"{TRINO_FUNCTIONS_DOC} that {FUNCTIONS_DOC} defers to){hint}",
                )
            )
            continue
        args = _call_args(tokens, index)
        low, high = ARITY.get(key, (0, None))
        if args is not None and not (low <= len(args) and (high is None or len(args) <= high)):
            want = f"{low}" if low == high else f"{low}..{high if high is not None else ''}"
            problems.append(
                _at(
                    tok,
                    f"{name}() takes {want} argument(s) in Athena, got {len(args)} "
                    f"({TRINO_FUNCTIONS_DOC}; {ENGINE3_DOC})",
                )
            )
        if args is not None and len(args) >= 2 and key in _MYSQL_FORMAT_FUNCTIONS | _JODA_FORMAT_FUNCTIONS:
            problems += _format_problems(tok, name, key, args[1])
    return problems


def _calls(tree: exp.Expr, tokens: list[Token], by_start: dict[int, int]) -> list[tuple[str, int]]:
    """(name as written, index of its token) for every function call in the statement.

    Known functions carry their written name in ``meta`` (``_TrinoKeepingNames``); unknown ones are
    ``exp.Anonymous``; calls sqlglot parses with a dedicated parser (CAST, EXTRACT, TRIM, ...) carry no
    position, so those are found on the token stream by their name.
    """
    calls = {}
    for node in tree.find_all(exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.meta.get(_NAME_KEY)
        start = node.meta.get("start")
        if name and start in by_start:
            calls[by_start[start]] = name
    special = _ATHENA.parser_class.FUNCTION_PARSERS
    for i, tok in enumerate(tokens[:-1]):
        is_type = i > 0 and tokens[i - 1].token_type == TokenType.ALIAS  # cast(x AS char(3))
        opens = tokens[i + 1].token_type == TokenType.L_PAREN
        if tok.text.upper() in special and opens and not is_type and i not in calls:
            calls[i] = tok.text
    return sorted(((name, i) for i, name in calls.items()), key=lambda c: c[1])


def _call_args(tokens: list[Token], index: int) -> list[list[Token]] | None:
    """The argument token lists of the call whose name is ``tokens[index]``, split at top-level commas."""
    if index + 1 >= len(tokens) or tokens[index + 1].token_type != TokenType.L_PAREN:
        return None
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens[index + 2 :]:
        if tok.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tok.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            if depth == 0:
                return [] if args == [[]] else args
            depth -= 1
        elif tok.token_type == TokenType.COMMA and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    return None


def _format_problems(tok: Token, name: str, key: str, arg: list[Token]) -> list[Problem]:
    if len(arg) != 1 or arg[0].token_type != TokenType.STRING:
        return []
    pattern = arg[0].text
    if key in _MYSQL_FORMAT_FUNCTIONS and "%" not in pattern and _JAVA_PATTERN.search(pattern):
        return [
            _at(
                tok,
                f"{name}(x, '{pattern}') uses a Java/Spark pattern; Athena's {name} takes MySQL "
                f"specifiers such as '%Y-%m-%d' (format_datetime takes Joda patterns) ({TRINO_DATETIME_DOC})",
            )
        ]
    if key in _JODA_FORMAT_FUNCTIONS and "%" in pattern:
        return [
            _at(
                tok,
                f"{name}(x, '{pattern}') uses MySQL specifiers; {name} takes Joda patterns such as "
                f"'yyyy-MM-dd' (date_format takes '%' specifiers) ({TRINO_DATETIME_DOC})",
            )
        ]
    return []


def _reserved_word_problems(tree: exp.Expr) -> list[Problem]:
    problems = []
    for column in tree.find_all(exp.Column):
        ident = column.this
        if isinstance(ident, exp.Identifier) and ident.quoted and not _GLUE_NAME.fullmatch(ident.name):
            problems.append(
                Problem(
                    ident.meta.get("line", 1),
                    max(ident.meta.get("col", 1) - len(ident.name), 1),
                    f'"{ident.name}" is a quoted identifier, not a string, in Athena; Athena lowercases '
                    f"column names and allows no special characters but '_' ({NAMES_DOC}), so it "
                    f"cannot name a column: for a string write '{ident.name}'",
                )
            )
    for ident in tree.find_all(exp.Identifier):
        if not ident.quoted and ident.name.upper() in ATHENA_SELECT_RESERVED:
            line, col = ident.meta.get("line", 0), ident.meta.get("col", 0)
            problems.append(
                Problem(
                    line,
                    max(col - len(ident.name) + 1, 1),
                    f"{ident.name} is a reserved keyword in Athena SELECT statements: write "
                    f'"{ident.name}" ({RESERVED_DOC})',
                )
            )
    return problems


# -- the local twin -----------------------------------------------------------------------------------
# Valid Athena SQL whose transpiled Spark SQL would answer differently, found by running both forms
# (tests/local_run/test_athena_sql.py shows each on Spark): sqlglot does not know column types, so it
# cannot keep Trino's integer division (7 / 2 = 3, https://trino.io/docs/current/functions/math.html)
# or date_trunc's type (date in, date out in Trino; a timestamp on Spark).
def transpile_problems(sql: str) -> list[str]:
    """Constructs whose Spark transpilation would not give Athena's answer (``dap local`` refuses them)."""
    problems = []
    for node in parse(sql).find_all(exp.Div):
        if not any(_is_fractional(side) for side in (node.this, node.expression)):
            problems.append(
                f"{node.sql('athena')}: Trino truncates integer division and Spark does not; make the type "
                f"explicit, e.g. cast(a as double) / b, so both engines answer the same"
            )
    for node in parse(sql).find_all(exp.TimestampTrunc, exp.DateTrunc):
        if not isinstance(node.parent, exp.Cast):
            problems.append(
                f"{node.sql('athena')}: date_trunc keeps a date a date in Trino but returns a timestamp on "
                f"Spark; wrap it: cast(date_trunc(...) as date)"
            )
    return problems


def _is_fractional(node: exp.Expr) -> bool:
    if isinstance(node, exp.Paren):
        return _is_fractional(node.this)
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.is_type(*exp.DataType.REAL_TYPES)
    return isinstance(node, exp.Literal) and not node.is_string and not node.is_int
