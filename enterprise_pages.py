"""Pages for some people only: one for an app role, one for members of a group."""

from __future__ import annotations

from flask import Blueprint, render_template

import auth
from app_config import Settings
from auth import login_required

# The app role's value, as defined in the app registration's App roles.
REPORTS_ROLE = "Reports.Reader"


def build_blueprint(settings: Settings) -> Blueprint:
    """The Reports page, and the Finance page when FINANCE_GROUP_ID names its group."""
    bp = Blueprint("enterprise", __name__)

    @bp.route("/reports")
    @login_required(roles=[REPORTS_ROLE], organizations_only=True)
    def reports(token: str):
        """Reports, for people with the Reports.Reader app role."""
        return render_template("reports.html", roles=auth.app_roles(), needed=REPORTS_ROLE)

    group_id = settings.finance_group_id
    if group_id:

        @bp.route("/finance")
        @login_required(groups=[group_id], organizations_only=True)
        def finance(token: str):
            """Expense approvals, for members of the finance group."""
            return render_template("finance.html", group_id=group_id, source=auth.groups_source())

    return bp
