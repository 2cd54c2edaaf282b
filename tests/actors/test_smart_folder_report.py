"""One run over a smart folder to two contacts of different clearances, through a real worker,
Chromium and SMTP: each PDF holds the folder's computers the contact may see, and names the
folder in its title block."""

from __future__ import annotations

from sqlalchemy import select

from actors.embedded import EmbeddedDispatcher
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from storage.models import SmartFolder
from tests.actors.conftest import ALEX, HANAKO, World, pdf_text

#: The sample's "PCI in Tokyo": the pci-tagged computers of the Tokyo datacenter.
IN_FOLDER = [f"{stem}-{n:02d}" for stem in ("fron", "data") for n in range(1, 7)]
#: The Web Team's branch holds the frontends of the folder, not its databases.
HANAKO_SEES = [name for name in IN_FOLDER if name.startswith("fron")]
OUTSIDE = [f"{stem}-{n:02d}" for stem in ("web", "lapt") for n in range(1, 7)]


def test_a_folder_report_gives_each_recipient_the_folder_within_their_clearance(
    world: World, renderer: PdfRenderer
) -> None:
    # Given the sample's folder and a Computer Report over it to Alex (everything) and
    # Hanako (the Web Team: the web servers' branch only)
    with world.sessions() as session:
        folder_id = session.scalars(
            select(SmartFolder.id).where(
                SmartFolder.account_id == world.account_id, SmartFolder.name == "PCI in Tokyo"
            )
        ).one()
    run_id, _ = world.new_run(
        Recipients(contact_ids=(world.contacts[ALEX], world.contacts[HANAKO])),
        report_type="computer",
        computerFilter={"type": "computers-in-smart-folder", "smartFolderID": folder_id},
    )

    # When a worker delivers it
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as worker:
        worker.start_runs([run_id])
        run = world.wait_finished(run_id)

    # Then both got it, each with the folder cut to their clearance, and the folder named
    assert (run.sent, run.failed) == (2, 0)
    alex, hanako = (pdf_text(world.mails_to(address)[0]) for address in (ALEX, HANAKO))
    assert all(name in alex for name in IN_FOLDER)
    assert all(name in hanako for name in HANAKO_SEES)
    assert not any(name in hanako for name in IN_FOLDER if name not in HANAKO_SEES)
    assert not any(name in text for text in (alex, hanako) for name in OUTSIDE)
    assert "In smart folder PCI in Tokyo" in " ".join(alex.split())
    assert "PCI in Tokyo" in " ".join(hanako.split())
