"""Video check-ins: the subject's self check-in, clinicians watching it live, and calls."""
