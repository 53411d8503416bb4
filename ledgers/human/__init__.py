"""Human ledger: the crowd's mood. ``reddit``: posts of the subreddits analysts follow, with VADER sentiment."""
