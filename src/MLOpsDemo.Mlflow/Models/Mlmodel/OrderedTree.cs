using System.Collections;

namespace MLOpsDemo.Mlflow.Models.Mlmodel;

/// <summary>A read-only map that keeps its insertion order (for JSON written in MLflow's key order).</summary>
internal sealed class OrderedTree : IReadOnlyDictionary<string, object?>
{
    private readonly List<KeyValuePair<string, object?>> _items;

    public OrderedTree(IEnumerable<(string Key, object? Value)> items) =>
        _items = items.Select(i => KeyValuePair.Create(i.Key, i.Value)).ToList();

    public int Count => _items.Count;

    public IEnumerable<string> Keys => _items.Select(i => i.Key);

    public IEnumerable<object?> Values => _items.Select(i => i.Value);

    public object? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public bool ContainsKey(string key) => _items.Exists(i => i.Key == key);

    public bool TryGetValue(string key, out object? value)
    {
        foreach (var item in _items)
        {
            if (item.Key == key)
            {
                value = item.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
