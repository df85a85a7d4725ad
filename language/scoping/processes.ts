/** The processes of a scenario, as `send ... to P` names them. */

import { AstUtils } from 'langium';
import { isForkStatement, type ProcessDecl, type Scenario } from '../generated/ast.js';

/**
 * One declaration per process: the first `process P` block of each name, and each `fork child`
 * (whose child's blocks continue it), in source order.
 */
export function processDeclarations(scenario: Scenario): ProcessDecl[] {
    const seen = new Set<string>();
    const declarations: ProcessDecl[] = [];
    const forks = scenario.processes.flatMap(block => AstUtils.streamAst(block).filter(isForkStatement).toArray());
    for (const declaration of [...forks, ...scenario.processes]) {
        if (!seen.has(declaration.name)) {
            seen.add(declaration.name);
            declarations.push(declaration);
        }
    }
    return declarations;
}
