using System.Text;

namespace Liminal.Actors.Dedup;

/// <summary>Validation of idempotency keys and their stable placement on shards.</summary>
public static class DedupKeys
{
    public const int MaxKeyBytes = 1024;

    /// <summary>
    /// 1 to <see cref="MaxKeyBytes"/> UTF-8 bytes of well-formed UTF-16: a lone surrogate would be stored as U+FFFD,
    /// so after a restart the key would be another key (and two such keys the same one).
    /// </summary>
    public static bool IsValid(string? key) =>
        !string.IsNullOrEmpty(key) && IsWellFormedUtf16(key) && Encoding.UTF8.GetByteCount(key) <= MaxKeyBytes;

    /// <summary>True when every surrogate in <paramref name="text"/> is half of a pair, so it round-trips through UTF-8.</summary>
    public static bool IsWellFormedUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i]))
                continue;
            if (!char.IsHighSurrogate(text[i]) || i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1]))
                return false;
            i++;
        }
        return true;
    }

    /// <summary>
    /// The shard of a key: FNV-1a over its UTF-8 bytes, so placement never changes between processes or
    /// runtime versions (unlike <see cref="string.GetHashCode()"/>). Changing the shard count of an existing
    /// namespace moves keys to other shards and loses their history.
    /// </summary>
    public static int ShardOf(string key, int shards)
    {
        const uint offsetBasis = 2166136261;
        const uint prime = 16777619;
        var maxBytes = Encoding.UTF8.GetMaxByteCount(key.Length);
        var rented = maxBytes > 1024 ? System.Buffers.ArrayPool<byte>.Shared.Rent(maxBytes) : null;
        Span<byte> buffer = rented ?? stackalloc byte[1024];
        var length = Encoding.UTF8.GetBytes(key, buffer);
        var hash = offsetBasis;
        foreach (var b in buffer[..length])
            hash = unchecked((hash ^ b) * prime);
        if (rented is not null)
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return (int)(hash % (uint)shards);
    }
}
