import asyncio

import pytest
import qasync
from PySide6.QtCore import QSettings

from app.core.settings import Settings
from app.pipeline.services import Services
from tests.helpers import SessionSecrets


@pytest.fixture(scope="session")
def loop(qapp):
    # One qasync loop for all window tests: creating and closing a loop per test leaves
    # socket notifiers and timers behind that Qt may still deliver to after they are gone.
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    try:
        loop.close()        # stops its executor threads before Qt goes away
    except Exception:
        pass


@pytest.fixture
def make_window(qtbot, tmp_path, loop):
    from app.ui.main_window import MainWindow

    made = []

    def make(player=None, secrets=None, settings_file=None, **settings):
        """`settings_file`: reuse one settings file (a restart); by default each window gets its own."""
        settings.setdefault("provider", "local")
        s = Settings(voice=settings.pop("voice", "alloy"), **settings)
        qs = QSettings(str(settings_file or tmp_path / f"settings{len(made)}.ini"), QSettings.Format.IniFormat)
        w = MainWindow(services=Services(s, secrets or SessionSecrets()), player=player, qsettings=qs)
        w.settings = s
        qtbot.addWidget(w)
        if settings_file is None:     # a restart keeps the size it restored
            w.resize(1000, 700)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


@pytest.fixture
def app_state(qapp):
    """Appearance changes the application's palette, style and the theme: put them back."""
    from app.ui import appearance

    appearance.reset()
    yield qapp
    appearance.reset()
