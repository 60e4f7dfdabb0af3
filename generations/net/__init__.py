"""Outbound HTTP to third-party hosts, one module per job.

``policy`` decides which URLs and addresses may be reached, ``transport`` connects to the
checked address under a deadline, ``download`` streams a body into a temporary file within
caps, ``send`` delivers one request with a body (pre-signed uploads, webhook POSTs), and
``errors`` holds what all of them raise. Django-free, so that the ``gmi`` layer can use it.
"""
