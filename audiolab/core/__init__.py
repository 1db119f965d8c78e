"""Shared by every capability: bounded decoding and encoding (``io``), every bound (``limits``),
the one model and transform cache (``cache``), fast images (``render``, ``plots``), errors,
deadlines and URL fetching."""
