"""Support data for the state machine's ASL checks: a token renderer and the transcribed integration table."""
