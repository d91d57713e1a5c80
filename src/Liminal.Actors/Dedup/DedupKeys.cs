using System.Text;

namespace Liminal.Actors.Dedup;

/// <summary>The stable placement of idempotency keys on shards (what a valid key is: <see cref="Validation.InputRules.IdempotencyKey"/>).</summary>
public static class DedupKeys
{
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
