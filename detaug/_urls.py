"""Where detaug's documentation lives: messages and ``--help`` texts point here, never at a
``docs/`` file (a wheel has none). Defined once (``mkdocs.yml``'s ``site_url`` says the same;
tests/test_docs_site.py checks it), so moving the site changes one line here and one there."""

#: The documentation site's root; a page is ``docs_page(name)``.
DOCS_URL = "https://detaug.github.io/detaug"


def docs_page(name: str) -> str:
    """The address of documentation page ``name`` (``"training"``, ``"occlusion"``, ...),
    built from ``docs/<name>.md``.

    Examples:
        >>> docs_page("training")
        'https://detaug.github.io/detaug/training/'
    """
    return f"{DOCS_URL}/{name}/"
