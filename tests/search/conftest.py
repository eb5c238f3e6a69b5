"""A small site built once for the search tests, and how to read the index it gets.

Its words are chosen so each test knows exactly what must be found: `quilting` is in one
post, `carpool` in a post and a training, `picket` in the twelve field notes (more than a
page of results), and `zanzibar` (a draft), `quokka` (a post dated 2099) and `gratitude`
(a hidden thank-you page) must never be found.
"""

import gzip
import json
import textwrap

import pytest

from tests.helpers import run_pelican

FAR_FUTURE = "2099-05-01"

FILES = {
    "blog/2014-03-01-quilting-bee.md": """\
        Title: The quilting bee that became a union drive
        Date: 2014-03-01 10:00
        Tags: stories
        Summary: How a craft circle turned into an organizing committee.

        Every Thursday the nurses met for a quilting circle, and one evening the talk
        turned from patterns to staffing ratios. Six months later they had a union.
        """,
    "blog/2014-04-01-carpool.md": """\
        Title: Rides to the hearing
        Date: 2014-04-01 10:00
        Summary: Members shared a carpool list to fill the hearing room.

        The local kept a carpool sheet so that every member who wanted to testify
        could reach the hearing on time.
        """,
    "blog/2014-05-01-draft.md": """\
        Title: Notes not ready yet
        Date: 2014-05-01 10:00
        Summary: A draft nobody should find.
        Status: draft

        A draft about zanzibar that must stay out of the index.
        """,
    "blog/2099-01-01-scheduled.md": f"""\
        Title: A post for later
        Date: {FAR_FUTURE[:4]}-01-01 10:00
        Summary: A scheduled post nobody should find yet.

        A scheduled post about the quokka parade, out of the index until its day.
        """,
    "trainings/2099-05-01-carpool-training.md": f"""\
        Title: Organizing a carpool network
        Date: 2014-02-01 10:00
        Summary: A morning on rides, routes and reminders for members.
        Start: {FAR_FUTURE} 09:30
        End: {FAR_FUTURE} 12:30
        Timezone: America/New_York
        Venue: Union hall
        Street: 1 Main Street
        City: New York
        Region: NY
        Postal_Code: 10001
        Country: US
        Audience: Stewards
        Trainers: Organizing 2.0
        Sponsors: Organizing 2.0
        Topics: Routes
        Registration: form
        Event_Status: scheduled

        We plan a carpool network that gets members to every meeting.
        """,
    "internships/2099-fall-intern.md": f"""\
        Title: Fall internship in online organizing
        Date: 2014-01-15 10:00
        Summary: A term of real campaign work.
        Role: Online organizing intern
        Term: Fall
        Supervisor: Charles Lenchner
        Duties: Keep the training calendar
        Apply_By: {FAR_FUTURE}
        Application: form
        City: New York
        Region: NY
        Country: US
        Remote: no

        Our interns keep the training calendar and learn campaign work from the inside.
        """,
    "pages/about.md": """\
        Title: About the network
        Slug: about
        Summary: Who we are.

        A volunteer network that works like a lighthouse for union websites.
        """,
    "pages/trainings-registered.md": """\
        Title: You are registered
        Slug: trainings-registered
        URL: trainings/registered/
        Save_as: trainings/registered/index.html
        Status: hidden
        Summary: Your registration reached us.

        Our gratitude for registering; we will write to you soon.
        """,
}
# Twelve posts sharing a word: more than one page (PAGE_SIZE in search.js) of results.
for number in range(1, 13):
    FILES[f"blog/2015-01-{number:02d}-field-notes.md"] = f"""\
        Title: Field notes {number}
        Date: 2015-01-{number:02d} 10:00
        Summary: Notes from week {number} on the picket line.

        Week {number} on the picket line: who came, what we sang, what we learned.
        """


def write_site(folder, files=FILES):
    """Write `files` ({path: Markdown}) under `folder`; returns the folder."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def cache_override(folder):
    """The `-e` setting that keeps a build's search bundles in `folder`."""
    return [f"CACHE_PATH={json.dumps(str(folder))}"]


def indexed(output):
    """{url: Pagefind's record of the page} for every page in output/pagefind/."""
    records = {}
    for fragment in (output / "pagefind" / "fragment").glob("*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes())
        record = json.loads(data.removeprefix(b"pagefind_dcd"))
        records[record["url"]] = record
    return records


@pytest.fixture(scope="session")
def search_site(tmp_path_factory):
    """The fixture site built with the development settings: {"content", "output"}."""
    base = tmp_path_factory.mktemp("search-site")
    content = write_site(base / "content")
    output = base / "output"
    run_pelican(content, output, extra=cache_override(base / "cache"))
    return {"content": content, "output": output, "base": base}
