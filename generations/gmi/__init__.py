"""The upstream: GMI Cloud's video APIs behind one small client interface.

Nothing in this package imports Django models or services; it speaks HTTP and
returns normalized objects (see ``base``).
"""
