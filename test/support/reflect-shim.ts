// Minimal Reflect metadata polyfill for @peculiar/x509 (its DI container, tsyringe, refuses to load without
// `Reflect.getMetadata`). The project does not depend on `reflect-metadata`; this covers the handful of calls
// tsyringe makes (define/get/getOwn/has metadata and the `Reflect.metadata` decorator factory).
// It only fills in what is missing, so a real polyfill loaded first wins. Import it before "@peculiar/x509".

type Key = string | symbol | undefined;
type MetaMap = Map<unknown, unknown>;

const R = Reflect as unknown as Record<string, unknown>;

if (typeof R.getMetadata !== "function") {
    const store = new WeakMap<object, Map<Key, MetaMap>>();
    const table = (target: object, prop: Key, create: boolean): MetaMap | undefined => {
        let byProp = store.get(target);
        if (!byProp) {
            if (!create) return undefined;
            byProp = new Map();
            store.set(target, byProp);
        }
        let meta = byProp.get(prop);
        if (!meta && create) {
            meta = new Map();
            byProp.set(prop, meta);
        }
        return meta;
    };
    const getOwn = (key: unknown, target: object, prop?: Key) => table(target, prop, false)?.get(key);
    const get = (key: unknown, target: object, prop?: Key) => {
        for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
            const m = table(t, prop, false);
            if (m && m.has(key)) return m.get(key);
        }
        return undefined;
    };
    R.defineMetadata = (key: unknown, value: unknown, target: object, prop?: Key) => {
        table(target, prop, true)!.set(key, value);
    };
    R.getOwnMetadata = getOwn;
    R.getMetadata = get;
    R.hasOwnMetadata = (key: unknown, target: object, prop?: Key) => table(target, prop, false)?.has(key) ?? false;
    R.hasMetadata = (key: unknown, target: object, prop?: Key) => get(key, target, prop) !== undefined;
    R.metadata = (key: unknown, value: unknown) => (target: object, prop?: Key) => {
        table(target, prop, true)!.set(key, value);
    };
}

export {};
