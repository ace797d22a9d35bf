"""Which passwords an account may have (NIST SP 800-63B-4, 3.1.1.2).

Refused: whitespace only, shorter than the minimum (15 by default: the standard's floor for a
password that is the only factor, as here), containing the username, one of the 30,000 most common
passwords, or easy to guess by zxcvbn's estimate (dictionary words, names, keyboard walks, repeats,
sequences, dates, leetspeak of those). No composition rules: the standard forbids them.
"""
from zxcvbn import zxcvbn
from zxcvbn.matching import RANKED_DICTIONARIES

MAX_LENGTH = 128
# zxcvbn's time grows steeply with length (about 40 ms at 32 characters, 200 ms at 72, seconds at
# 128) and a register request must not cost seconds of CPU: past 32 characters, the first 32 decide.
SCORED_PREFIX = 32
# zxcvbn's 3 is "safely unguessable": at least 10^8 guesses.
MIN_SCORE = 3
# Words of this site that a guesser tries first, besides the username.
SITE_WORDS = ("tournament", "platform", "bracket")


def password_problem(password, username, min_length):
    """Why `password` may not be `username`'s, as a field message; None when it may."""
    if not password.strip():
        return "must not be only whitespace"
    if len(password) < min_length:
        return f"must be at least {min_length} characters"
    if username.lower() in password.lower():
        return "must not contain the username"
    if password.lower() in RANKED_DICTIONARIES["passwords"]:
        return "is one of the 30,000 most common passwords"
    estimate = zxcvbn(password[:SCORED_PREFIX], user_inputs=[username, *SITE_WORDS])
    if estimate["score"] < MIN_SCORE:
        advice = [estimate["feedback"]["warning"], *estimate["feedback"]["suggestions"]]
        reason = " ".join(text for text in advice if text) or "Add another word or two."
        return f"is too easy to guess: {reason}"
    return None
