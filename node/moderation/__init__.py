"""Moderation (as Decidim's): reports on proposals, debates and comments, hiding (automatic at a
threshold of reports, or by a moderator), blocking users, and the administrators' action log.

Hiding never deletes: a row in `moderations` with `hidden_at` set, which public queries exclude
with `node.moderation.visibility.not_hidden`; unhiding clears it and everything reappears."""
