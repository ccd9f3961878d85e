"""User groups (associations, collectives) a member can publish on behalf of, once a node
administrator has verified the group (issue 5). See docs/ARCHITECTURE.md, "User groups"."""
