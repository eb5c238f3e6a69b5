"""Every internal link, image, stylesheet and script on every page resolves to a built file."""

from tests.site.conftest import broken_references


def test_internal_references_resolve_to_files_in_the_build(built_site, html_pages, dev_settings):
    broken = broken_references(built_site, html_pages, dev_settings["SITEURL"])
    assert not broken, "\n".join(broken)


def test_the_check_sees_links_at_all(html_pages):
    # Guards the test above against passing because it found nothing to check.
    post = html_pages["blog/2013/big-list-online-organizing/index.html"]
    assert len(post.xpath("//a[@href]")) > 15
    assert post.xpath("//link[@rel='stylesheet']/@href") == ["../../../theme/css/site.css"]
