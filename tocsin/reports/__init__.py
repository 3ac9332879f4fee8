"""Reports on incidents: the closure report of one incident, and ``tocsin report`` over many.

``sla`` judges one incident against its priority's SLA targets; ``closure`` gathers an
incident's report from the store (``closure_render`` writes it as Markdown or HTML,
``closure_http`` serves it); ``figures`` computes the figures of a period from incidents
read in pages (``collect`` reads them, ``render_text``, ``render_json`` and
``render_html`` write them).
"""
