"""The action policy of followup-rules.md as the spec writes it, for the tests to check the
bot against (never derived from the bot's own tables)."""

from __future__ import annotations

# The spec's table, copied as written: action → (sensitivity, smb, mid_market, enterprise).
SPEC_MATRIX = {
    "create_discount_request": ("high", "approve", "approve", "approve"),
    "reassign_ownership": ("high", "approve", "approve", "approve"),
    "send_checkin_email": ("high", "approve", "approve", "approve"),
    "add_to_onboarding_recovery": ("medium", "auto", "approve", "approve"),
    "create_support_task": ("medium", "auto", "approve", "approve"),
    "escalate_to_specialist": ("medium", "auto", "auto", "auto"),
    "add_to_low_adoption_nurture": ("low", "auto", "auto", "approve"),
    "notify_owner_slack": ("low", "auto", "auto", "approve"),
    "schedule_checkpoint_7d": ("low", "auto", "auto", "approve"),
    "update_csm_health_score": ("low", "auto", "auto", "approve"),
}
SEGMENTS = ("smb", "mid_market", "enterprise")
LEVELS = ("recommend", "assisted", "autonomous")
BLOCKERS = ("none", "minor", "major")
KINDS = {
    "task",
    "message",
    "email",
    "sequence",
    "escalation",
    "ownership",
    "discount",
    "health_score",
}


def expected(action: str, segment: str, level: str, blocker: str) -> str:
    """The spec's words, one by one."""
    sensitivity, *cells = SPEC_MATRIX[action]
    cell = dict(zip(SEGMENTS, cells, strict=True))[segment]
    matrix_value = "auto" if cell == "auto" else "needs_approval"
    if level == "recommend":
        return "recommended"
    if level == "assisted":
        status = matrix_value if sensitivity == "low" else "needs_approval"
    else:
        status = matrix_value
    if blocker == "major" and status == "auto":
        status = "needs_approval"
    return status
