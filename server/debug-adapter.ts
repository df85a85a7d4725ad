// The debug adapter as a process: DAP over stdio (spawned by editors and by `DebugClient` tests).
import './polyfills.js';
import { runDebugAdapterStdio } from '../language/debug/index.js';

runDebugAdapterStdio();
