namespace Liminal.Actors.Channels;

/// <summary>Where a key's message was stored, and when.</summary>
public readonly record struct StoredKey(long? SequenceNr, long StoredAtMillis);

/// <summary>
/// The idempotency keys a partition has stored recently (SPEC §2.4): a key is known for <c>window</c> after its
/// message was stored, and at most <c>maxKeys</c> are kept, the oldest evicted first. Pure: time comes in with
/// each key, so replaying the same keys rebuilds the same window.
/// </summary>
/// <remarks>
/// Keys arrive in storage order, so the oldest is always at the head of a queue. A key stored again after it
/// expired replaces its entry; the stale queue item is skipped when it reaches the head (its sequence number no
/// longer matches the map's).
/// </remarks>
public sealed class KeyWindow(TimeSpan window, int maxKeys)
{
    private readonly Dictionary<string, StoredKey> _keys = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, StoredKey Stored)> _order = new();
    private readonly long _windowMillis = (long)window.TotalMilliseconds;

    public int Count => _keys.Count;

    /// <summary>The stored message of <paramref name="key"/>, unless it is unknown or older than the window at <paramref name="nowMillis"/>.</summary>
    public StoredKey? Find(string key, long nowMillis) =>
        _keys.TryGetValue(key, out var stored) && !IsExpired(stored, nowMillis) ? stored : null;

    /// <summary>
    /// Records <paramref name="key"/> as stored; keys older than the window at its time leave first, then the
    /// oldest keys beyond <c>maxKeys</c>. Returns how many were evicted for room (not expired by age).
    /// </summary>
    public int Add(string key, StoredKey stored)
    {
        Expire(stored.StoredAtMillis);
        _keys[key] = stored;
        _order.Enqueue((key, stored));
        var evicted = 0;
        while (_keys.Count > maxKeys && TryRemoveOldest())
            evicted++;
        return evicted;
    }

    /// <summary>
    /// Forgets the keys of messages below <paramref name="sequenceNr"/> (deleted by retention: a key is known no longer
    /// than its message); returns how many. Durable windows only: their keys are held in sequence order.
    /// </summary>
    public int ForgetStoredBefore(long sequenceNr)
    {
        var forgotten = 0;
        while (_order.TryPeek(out var oldest) && (!IsCurrent(oldest) || oldest.Stored.SequenceNr < sequenceNr))
        {
            if (IsCurrent(oldest))
            {
                _keys.Remove(oldest.Key);
                forgotten++;
            }
            _order.Dequeue();
        }
        return forgotten;
    }

    /// <summary>Whether <paramref name="key"/> is held, expired or not.</summary>
    public bool Contains(string key) => _keys.ContainsKey(key);

    /// <summary>The keys, oldest first, as columns (a durable partition's: every key has a sequence number).</summary>
    public (string[] Keys, long[] SequenceNrs, long[] StoredAtMillis) ToColumns()
    {
        var keys = new string[_keys.Count];
        var sequenceNrs = new long[_keys.Count];
        var storedAt = new long[_keys.Count];
        var i = 0;
        foreach (var item in _order)
        {
            if (!IsCurrent(item))
                continue;
            keys[i] = item.Key;
            sequenceNrs[i] = item.Stored.SequenceNr ?? throw new InvalidOperationException("an ephemeral window has no snapshot");
            storedAt[i++] = item.Stored.StoredAtMillis;
        }
        return (keys, sequenceNrs, storedAt);
    }

    private void Expire(long nowMillis)
    {
        while (_order.TryPeek(out var oldest) && (!IsCurrent(oldest) || IsExpired(oldest.Stored, nowMillis)))
            TryRemoveOldest();
    }

    private bool TryRemoveOldest()
    {
        while (_order.TryDequeue(out var oldest))
        {
            if (!IsCurrent(oldest))
                continue;
            _keys.Remove(oldest.Key);
            return true;
        }
        return false;
    }

    private bool IsCurrent((string Key, StoredKey Stored) item) =>
        _keys.TryGetValue(item.Key, out var current) && current == item.Stored;

    private bool IsExpired(StoredKey stored, long nowMillis) => stored.StoredAtMillis < nowMillis - _windowMillis;
}
