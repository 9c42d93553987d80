"""``python -m ais.synth OUT_DIR``: regenerate the committed fixtures."""

from ais.synth.world import main

raise SystemExit(main())
