// `iommu-scenarios`: the command line. Logic lives in language/cli; this only binds it to the process.
import './polyfills.js';
import { runCli } from '../language/cli/main.js';
import pkg from '../package.json' with { type: 'json' };

runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    cwd: process.cwd(),
}, pkg.version).then((code) => {
    process.exitCode = code;
}, (e: unknown) => {
    process.stderr.write(`iommu-scenarios: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 3;
});
