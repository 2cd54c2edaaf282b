"""The console's pages: one route module each (an ``APIRouter`` named ``router``)."""
