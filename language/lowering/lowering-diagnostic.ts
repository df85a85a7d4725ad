/** Problems found while lowering, reported by the lowering validator at their node. */

import type { AstNode } from 'langium';
import type { IommuCode } from '../validation/diagnostic-codes.js';

/** A problem found while lowering a scenario. */
export interface LoweringDiagnostic {
    readonly severity: 'error' | 'warning' | 'info' | 'hint';
    readonly message: string;
    readonly code: IommuCode;
    readonly node: AstNode;
    /** The property of `node` to underline, if not all of it. */
    readonly property?: string;
}
