/**
 * The Testing view: each `.iommu` file holds its scenarios, each scenario its `expect`s (from
 * `iommu/scenarios`). Running a scenario or one of its expects runs the scenario on the server
 * (`iommu/runScenario`); an expect passes when Linux, as simulated, does what it says, else it
 * fails with the server's message at the statement.
 */

import * as vscode from 'vscode';
import {
    RunScenarioRequest, ScenariosRequest,
    type RunScenarioParams, type RunScenarioResult, type ScenariosParams, type ScenariosResult,
} from '../language/protocol/messages.js';
import type { IommuClient } from './language-client.js';
import type { ScenarioCommands } from './run.js';
import { toRange } from './tree.js';
import { expectOutcomes, scenarioFailures } from './views/run-report.js';

type ItemKind = { readonly kind: 'file' } | { readonly kind: 'scenario'; readonly name: string } | { readonly kind: 'expect'; readonly scenario: string; readonly expectId: string };

export class ScenarioTests implements vscode.Disposable {
    private readonly controller = vscode.tests.createTestController('iommu', 'IOMMU Scenarios');
    private readonly kinds = new WeakMap<vscode.TestItem, ItemKind>();
    private readonly disposables: vscode.Disposable[] = [this.controller];

    constructor(private readonly client: IommuClient, private readonly commands: ScenarioCommands) {
        this.controller.resolveHandler = (item) => item ? this.loadFile(item) : this.discover();
        this.controller.refreshHandler = () => this.discover();
        this.controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (request, token) => this.run(request, token), true);
        this.controller.createRunProfile('Debug', vscode.TestRunProfileKind.Debug, (request) => this.debug(request), true);
        this.disposables.push(
            client.onDidSimulate((p) => {
                const item = this.controller.items.get(p.uri);
                if (item || vscode.workspace.textDocuments.some((d) => d.uri.toString() === p.uri && d.languageId === 'iommu')) {
                    void this.loadFile(item ?? this.fileItem(vscode.Uri.parse(p.uri)));
                }
            }),
            vscode.workspace.onDidDeleteFiles((e) => e.files.forEach((f) => this.controller.items.delete(f.toString()))),
        );
    }

    /** Lists the workspace's `.iommu` files (their scenarios load when expanded or run). */
    private async discover(): Promise<void> {
        const files = await vscode.workspace.findFiles('**/*.iommu', '**/node_modules/**', 500);
        for (const uri of files) {
            this.fileItem(uri);
        }
    }

    private fileItem(uri: vscode.Uri): vscode.TestItem {
        const id = uri.toString();
        let item = this.controller.items.get(id);
        if (!item) {
            item = this.controller.createTestItem(id, vscode.workspace.asRelativePath(uri), uri);
            item.canResolveChildren = true;
            this.kinds.set(item, { kind: 'file' });
            this.controller.items.add(item);
        }
        return item;
    }

    /** (Re)reads a file's scenarios and expects. */
    private async loadFile(file: vscode.TestItem): Promise<void> {
        if (!file.uri || this.kinds.get(file)?.kind !== 'file') {
            return;
        }
        file.busy = true;
        try {
            const uri = file.uri.toString();
            const { scenarios } = await this.client.request<ScenariosParams, ScenariosResult>(ScenariosRequest, { uri });
            file.children.replace(scenarios.map((s) => {
                const scenario = this.controller.createTestItem(`${uri}#${s.name}`, s.name, file.uri);
                scenario.range = toRange(s.range);
                scenario.description = `on ${s.machine}`;
                this.kinds.set(scenario, { kind: 'scenario', name: s.name });
                scenario.children.replace(s.expects.map((e) => {
                    const expect = this.controller.createTestItem(`${uri}#${s.name}#${e.id}`, e.label, file.uri);
                    expect.range = toRange(e.range);
                    this.kinds.set(expect, { kind: 'expect', scenario: s.name, expectId: e.id });
                    return expect;
                }));
                return scenario;
            }));
            file.error = undefined;
        } catch (e) {
            file.error = e instanceof Error ? e.message : String(e);
        } finally {
            file.busy = false;
        }
    }

    /** The scenarios a request covers, each with the items (scenario and/or expects) to report on. */
    private async plan(request: vscode.TestRunRequest): Promise<Map<vscode.TestItem, Set<vscode.TestItem>>> {
        const excluded = new Set(request.exclude ?? []);
        const plan = new Map<vscode.TestItem, Set<vscode.TestItem>>();
        const add = (scenario: vscode.TestItem, items: vscode.TestItem[]): void => {
            const set = plan.get(scenario) ?? new Set<vscode.TestItem>();
            items.filter((i) => !excluded.has(i)).forEach((i) => set.add(i));
            plan.set(scenario, set);
        };
        const roots: vscode.TestItem[] = [];
        if (request.include) {
            roots.push(...request.include);
        } else {
            await this.discover();
            this.controller.items.forEach((i) => roots.push(i));
        }
        for (const item of roots) {
            if (excluded.has(item)) {
                continue;
            }
            const kind = this.kinds.get(item);
            if (kind?.kind === 'file') {
                if (item.children.size === 0) {
                    await this.loadFile(item);
                }
                item.children.forEach((s) => {
                    if (!excluded.has(s)) {
                        const expects: vscode.TestItem[] = [];
                        s.children.forEach((e) => expects.push(e));
                        add(s, [s, ...expects]);
                    }
                });
            } else if (kind?.kind === 'scenario') {
                const expects: vscode.TestItem[] = [];
                item.children.forEach((e) => expects.push(e));
                add(item, [item, ...expects]);
            } else if (kind?.kind === 'expect' && item.parent) {
                add(item.parent, [item]);
            }
        }
        return plan;
    }

    private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
        const run = this.controller.createTestRun(request);
        try {
            const plan = await this.plan(request);
            for (const [scenario, items] of plan) {
                if (token.isCancellationRequested) {
                    items.forEach((i) => run.skipped(i));
                    continue;
                }
                items.forEach((i) => run.started(i));
                const kind = this.kinds.get(scenario);
                if (kind?.kind !== 'scenario' || !scenario.uri) {
                    continue;
                }
                const started = Date.now();
                let result: RunScenarioResult;
                try {
                    result = await this.client.request<RunScenarioParams, RunScenarioResult>(
                        RunScenarioRequest, { uri: scenario.uri.toString(), scenario: kind.name }, token);
                } catch (e) {
                    const message = new vscode.TestMessage(e instanceof Error ? e.message : String(e));
                    items.forEach((i) => run.errored(i, message));
                    continue;
                }
                this.report(run, scenario, items, result, Date.now() - started);
            }
        } finally {
            run.end();
        }
    }

    private report(run: vscode.TestRun, scenario: vscode.TestItem, items: Set<vscode.TestItem>, result: RunScenarioResult, duration: number): void {
        const outcomes = expectOutcomes(result);
        const uri = scenario.uri!;
        for (const item of items) {
            const kind = this.kinds.get(item);
            if (kind?.kind === 'expect') {
                const outcome = outcomes.get(kind.expectId);
                if (!outcome) {
                    run.skipped(item);
                } else if (outcome.passed) {
                    run.passed(item, duration);
                } else {
                    const message = new vscode.TestMessage(outcome.message ?? `returned ${outcome.actual}`);
                    message.actualOutput = outcome.actual;
                    message.location = new vscode.Location(uri, outcome.range ? toRange(outcome.range) : item.range ?? new vscode.Range(0, 0, 0, 0));
                    run.failed(item, message, duration);
                }
            }
        }
        if (items.has(scenario)) {
            if (result.passed) {
                run.passed(scenario, duration);
            } else {
                const failures = scenarioFailures(result);
                const messages = failures.length > 0
                    ? failures.map((f) => {
                        const m = new vscode.TestMessage(f.message);
                        m.location = new vscode.Location(uri, f.range ? toRange(f.range) : scenario.range ?? new vscode.Range(0, 0, 0, 0));
                        return m;
                    })
                    : [new vscode.TestMessage('An expect did not hold (see the expects below).')];
                run.failed(scenario, messages, duration);
            }
        }
    }

    /** The Debug profile: debugs the first scenario of the request. */
    private async debug(request: vscode.TestRunRequest): Promise<void> {
        const plan = await this.plan(request);
        const scenario = [...plan.keys()][0];
        const kind = scenario && this.kinds.get(scenario);
        if (scenario?.uri && kind?.kind === 'scenario') {
            await this.commands.debug({ uri: scenario.uri, scenario: kind.name });
        }
    }

    dispose(): void {
        vscode.Disposable.from(...this.disposables).dispose();
    }
}
