/**
 * Where a step or a machine element came from in the user's text. The engine never interprets it;
 * it carries it through to results so that translators (language server, CLI, debug adapter) can
 * point at the statement. Positions are 0-based, as in LSP; the CLI and DAP convert in one place.
 */
export interface SourcePosition {
    readonly line: number;
    readonly character: number;
}

export interface SourceLocation {
    /** Document URI (or file path) the element was written in. */
    readonly uri?: string;
    readonly start: SourcePosition;
    readonly end: SourcePosition;
}
