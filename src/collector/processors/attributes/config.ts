// attributes processor config: ordered actions on span / log record / data point attributes,
// optionally limited by include / exclude match properties.
import { compileActions, type ActionConfig } from '../../internal/attraction.js';
import { compileSelection, type MatchProperties } from './matcher.js';

export interface AttributesConfig {
  actions: ActionConfig[];
  include: MatchProperties | null;
  exclude: MatchProperties | null;
}

export function createDefaultConfig(): AttributesConfig {
  // null: the loader accepts any map here; compileMatcher checks its keys.
  return { actions: [], include: null, exclude: null };
}

export function validate(cfg: AttributesConfig): void {
  compileActions(cfg.actions);
  compileSelection(cfg.include ?? undefined, cfg.exclude ?? undefined, undefined);
}
