"""Co-hosted consultations: partner nodes, remote participation, shared proposals
(docs/FEDERATION.md, "Co-hosted consultations")."""
