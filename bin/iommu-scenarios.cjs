#!/usr/bin/env node
// The `iommu-scenarios` command: the bundled CLI (built by `npm run build`, which `npm install` runs).
require('../out/server/cli.cjs');
