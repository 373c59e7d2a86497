"""Races: hero and clones hit the same usernames at the same instant; the audit proves who won."""
