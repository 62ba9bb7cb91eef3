// resource processor config: ordered actions on resource attributes.
import { compileActions, type ActionConfig } from '../../internal/attraction.js';

export interface ResourceConfig { attributes: ActionConfig[] }

export function createDefaultConfig(): ResourceConfig {
  return { attributes: [] };
}

export function validate(cfg: ResourceConfig): void {
  compileActions(cfg.attributes, 'attributes');
}
