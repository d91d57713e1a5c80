using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using CsCheck;
using Liminal.Actors.Channels;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// A partition's window snapshot is stored in a binary form (v2): every snapshot comes back exactly, snapshots written
/// as JSON (v1) by earlier versions are still read, and damaged bytes are a serialization error, never a wrong window.
/// </summary>
public sealed class ChannelPartitionSnapshotFormatTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("snapshot-format", LiminalSettings.DefaultConfig);

    public void Dispose() => _system.Dispose();

    private static readonly Gen<string> Keys = Gen.OneOf(
        Gen.String[Gen.Char.AlphaNumeric, 0, 40],
        Gen.Const("\u00e9t\u00e9 \U0001F600 \0\n"),
        Gen.String[Gen.Char['\u0020', '\uD7FF'], 1, 20]);

    private static readonly Gen<ChannelPartitionSnapshot> Snapshots =
        Gen.Select(Gen.Select(Keys, Gen.Long[0, long.MaxValue], Gen.Long[0, long.MaxValue]).Array[0, 60], Keys.Array[0, 5].Null())
            .Select((rows, legacy) => new ChannelPartitionSnapshot(
                [.. rows.Select(r => r.Item1)], [.. rows.Select(r => r.Item2)], [.. rows.Select(r => r.Item3)]) { LegacyKeys = legacy });

    private static void AssertSame(ChannelPartitionSnapshot expected, object actual)
    {
        var snapshot = Assert.IsType<ChannelPartitionSnapshot>(actual);
        Assert.Equal(expected.Keys, snapshot.Keys);
        Assert.Equal(expected.SequenceNrs, snapshot.SequenceNrs);
        Assert.Equal(expected.StoredAtMillis, snapshot.StoredAtMillis);
        Assert.Equal(expected.LegacyKeys, snapshot.LegacyKeys);
    }

    [Fact]
    public void Every_snapshot_comes_back_exactly_through_the_serializer_under_the_v2_manifest()
    {
        var serializer = (LiminalEventSerializer)_system.Serialization.FindSerializerForType(typeof(ChannelPartitionSnapshot));
        Snapshots.Sample(snapshot =>
        {
            Assert.Equal("channel.partition-snapshot.v2", serializer.Manifest(snapshot));
            AssertSame(snapshot, serializer.FromBinary(serializer.ToBinary(snapshot), "channel.partition-snapshot.v2"));
        }, iter: 2_000);
    }

    [Fact]
    public void A_snapshot_written_as_JSON_by_an_earlier_version_is_still_read()
    {
        var serializer = (LiminalEventSerializer)_system.Serialization.FindSerializerForType(typeof(ChannelPartitionSnapshot));
        // The v1 bytes as the earlier serializer wrote them: System.Text.Json with web defaults.
        var v1 = """{"keys":["order-1","é"],"sequenceNrs":[1,2],"storedAtMillis":[1767225600000,1767225600001],"legacyKeys":["old"]}"""u8.ToArray();
        AssertSame(new ChannelPartitionSnapshot(["order-1", "é"], [1, 2], [1767225600000, 1767225600001]) { LegacyKeys = ["old"] },
            serializer.FromBinary(v1, "channel.partition-snapshot.v1"));
        var withoutLegacy = JsonSerializer.SerializeToUtf8Bytes(new ChannelPartitionSnapshot(["k"], [7], [8]), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        AssertSame(new ChannelPartitionSnapshot(["k"], [7], [8]), serializer.FromBinary(withoutLegacy, "channel.partition-snapshot.v1"));
    }

    [Fact]
    public void Truncated_or_extended_bytes_are_a_serialization_error()
    {
        var serializer = (LiminalEventSerializer)_system.Serialization.FindSerializerForType(typeof(ChannelPartitionSnapshot));
        Gen.Select(Snapshots, Gen.Int[0, 1000], Gen.Bool).Sample((snapshot, cut, extend) =>
        {
            var bytes = serializer.ToBinary(snapshot);
            var damaged = extend ? [.. bytes, 0] : bytes[..(cut % bytes.Length)];
            Assert.Throws<SerializationException>(() => serializer.FromBinary(damaged, "channel.partition-snapshot.v2"));
        }, iter: 2_000);
    }
}

/// <summary>The retention state in a partition snapshot (format 3): it comes back exactly, and a snapshot without it keeps the v2 bytes.</summary>
public sealed class ChannelPartitionRetentionSnapshotTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("retention-snapshot", LiminalSettings.DefaultConfig);

    public void Dispose() => _system.Dispose();

    [Fact]
    public void A_snapshot_with_retention_state_comes_back_exactly_and_one_without_it_is_written_as_v2()
    {
        var serializer = (LiminalEventSerializer)_system.Serialization.FindSerializerForType(typeof(ChannelPartitionSnapshot));
        Gen.Select(Gen.Long[1, 1_000_000], Gen.Select(Gen.Long[0, long.MaxValue], Gen.Long[0, long.MaxValue]).Array[0, 20].Null())
            .Sample((firstRetained, ages) =>
            {
                var snapshot = new ChannelPartitionSnapshot(["k"], [firstRetained], [5])
                {
                    FirstRetained = firstRetained,
                    AgeSequenceNrs = ages?.Select(a => a.Item1).ToArray(),
                    AgeStoredAtMillis = ages?.Select(a => a.Item2).ToArray(),
                };
                var bytes = serializer.ToBinary(snapshot);
                Assert.Equal(3, bytes[0]);
                var copy = Assert.IsType<ChannelPartitionSnapshot>(serializer.FromBinary(bytes, serializer.Manifest(snapshot)));
                Assert.Equal(snapshot.FirstRetained, copy.FirstRetained);
                Assert.Equal(snapshot.AgeSequenceNrs, copy.AgeSequenceNrs);
                Assert.Equal(snapshot.AgeStoredAtMillis, copy.AgeStoredAtMillis);
                Assert.Equal(snapshot.Keys, copy.Keys);
            }, iter: 500);
        Assert.Equal(2, serializer.ToBinary(new ChannelPartitionSnapshot(["k"], [1], [5]))[0]);
    }
}
