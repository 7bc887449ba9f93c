"""Checks that the assignments' test cells call.

One module per assignment (``autograded_tests.ps02_cell`` ...).  A check tests
shapes first, then values against rnnlib, and when a student's answer matches a
known wrong variant it names the misconception (first line of the message).  In a
notebook a failed check shows that message first and then only the student's own lines
(``feedback.py``), never the checks' source.  The hidden checks' logic lives
here, not in the notebooks, so it never shows in the feedback students see.
"""
