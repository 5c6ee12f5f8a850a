// A value computed once per pair of objects (say, from one shared resource array to the next), held
// weakly: when either object is collected, so is the value.
export class PairMemo<A extends object, B extends object, V> {
  private readonly byFirst = new WeakMap<A, WeakMap<B, V>>();

  get(first: A, second: B, compute: () => V): V {
    let bySecond = this.byFirst.get(first);
    if (!bySecond) {
      bySecond = new WeakMap();
      this.byFirst.set(first, bySecond);
    }
    let value = bySecond.get(second);
    if (value === undefined) {
      value = compute();
      bySecond.set(second, value);
    }
    return value;
  }
}
