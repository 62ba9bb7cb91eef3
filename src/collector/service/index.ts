export { Service, type ServiceOptions } from './service.js';
export { asConsumer, asComponent } from '../internal/consumers.js';
export { fanout, combineErrors } from './fanout.js';
