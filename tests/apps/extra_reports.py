"""The service with the tests' extra reports (``tests.reports.extra``), for workers
that the tests start with ``flask --app tests.apps.extra_reports reports worker``.
"""

from service import create_service
from tests.reports.extra import with_extra_reports

app = create_service({"REPORTS": with_extra_reports()})
