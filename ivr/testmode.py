"""Names shared by a server in test mode (IVR_TEST_CLOCK=1) and the QA runner that talks to it."""

TRACE_HEADER = "X-IVR-Trace"  # response header: the engine actions and transitions of that request
CLOCK_FIELD = "IvrTestClock"  # signed form field: the call's time, ISO 8601 with an offset
LANG_FIELD = "IvrTestLang"  # signed form field on the first request: the call's starting language
