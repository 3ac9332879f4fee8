"""Reports on incidents: the closure report of one incident, and ``tocsin report`` over many.

``sla`` judges one incident against its priority's SLA targets. ``closure`` gathers an
incident's closure report from the store; ``closure_render`` writes it as Markdown or
HTML and ``closure_http`` serves it. ``figures`` computes the figures of a period (pure),
``collect`` reads the incidents for it a page at a time, ``render_text``,
``render_json`` and ``render_html`` (with ``charts``) write them, and ``command`` is
``tocsin report``. ``render_support`` holds the Jinja2 environment and its filters.
"""
