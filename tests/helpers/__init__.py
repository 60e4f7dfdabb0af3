"""Code the tests share, one subject a module: settings, waiting, threads, receivers, accounts, media, and the
one-shot passes and sums the site itself never runs. Test modules import from here, never from one another."""
