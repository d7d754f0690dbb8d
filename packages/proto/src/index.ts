// Generated contracts (packages/proto/src/gen, from proto/ by `npm run gen`), re-exported in one place.
export * from './gen/vanelia/v1/frames';
export * from './gen/vanelia/v1/video';
export * from './gen/vanelia/v1/camera';
export * from './gen/vanelia/v1/errors';
export * from './gen/vanelia/v1/decoder';
export * from './gen/vanelia/v1/pose';
export * from './gen/vanelia/v1/compositor';
export * from './gen/vanelia/v1/inpaint';
export * from './gen/vanelia/v1/gateway';
