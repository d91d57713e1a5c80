using System.Text;

namespace Liminal.Actors.Dedup;

/// <summary>Validation of idempotency keys and their stable placement on shards.</summary>
public static class DedupKeys
{
    public const int MaxKeyBytes = 1024;

    public static bool IsValid(string? key) =>
        !string.IsNullOrEmpty(key) && Encoding.UTF8.GetByteCount(key) <= MaxKeyBytes;

    /// <summary>
    /// The shard of a key: FNV-1a over its UTF-8 bytes, so placement never changes between processes or
    /// runtime versions (unlike <see cref="string.GetHashCode()"/>). Changing the shard count of an existing
    /// namespace moves keys to other shards and loses their history.
    /// </summary>
    public static int ShardOf(string key, int shards)
    {
        const uint offsetBasis = 2166136261;
        const uint prime = 16777619;
        Span<byte> buffer = stackalloc byte[MaxKeyBytes * 3];
        var length = Encoding.UTF8.GetBytes(key, buffer);
        var hash = offsetBasis;
        foreach (var b in buffer[..length])
            hash = unchecked((hash ^ b) * prime);
        return (int)(hash % (uint)shards);
    }
}
