using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

/// <summary>
/// The core cases of Akka.Persistence's TCK <c>SnapshotStoreSpec</c>, ported, run against one snapshot-store
/// configuration Liminal ships. The spec talks to the snapshot-store actor with <see cref="SaveSnapshot"/>,
/// <see cref="LoadSnapshot"/>, <see cref="DeleteSnapshot"/> and <see cref="DeleteSnapshots"/>, as the TCK does.
/// </summary>
/// <remarks>
/// Departures from the TCK: persistence ids are GUIDs (the PostgreSQL database is shared); the five snapshots carry
/// timestamps a second apart from a fixed instant instead of the scheduler's clock, so the timestamp bounds select
/// what they should however fast the saves run; the TCK's serializer of actor refs is replaced by Liminal's snapshot
/// serializer; and the deletion Liminal itself issues (everything below the snapshot just saved) is added.
/// </remarks>
public abstract class SnapshotStoreConformanceSpec(Config snapshotConfig) : LiminalTestKit(snapshotConfig)
{
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>How long a reply may take before the case fails: generous, because CI runs on two cores shared with
    /// builds, and a passing case never waits it out.</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(20);

    private string Pid { get; } = $"conformance-{Guid.NewGuid():N}";

    private IActorRef SnapshotStore => Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    /// <summary>Reports the case skipped when the configuration's database cannot be reached.</summary>
    protected virtual void RequireDatabase()
    {
    }

    /// <summary>The store's class, so a misconfigured one cannot pass for another.</summary>
    protected abstract string ExpectedSnapshotStore { get; }

    [SkippableFact]
    public void The_snapshot_store_under_test_is_the_configured_implementation()
    {
        RequireDatabase();
        Assert.Equal(ExpectedSnapshotStore, ((ActorRefWithCell)SnapshotStore).Underlying.Props.Type.Name);
    }

    [SkippableFact]
    public void Loads_nothing_for_a_persistence_id_without_snapshots()
    {
        SaveFiveSnapshots();
        Assert.Null(Load($"conformance-{Guid.NewGuid():N}", SnapshotSelectionCriteria.Latest));
    }

    [SkippableFact]
    public void Loads_nothing_when_every_snapshot_is_newer_than_the_timestamp_bound()
    {
        var saved = SaveFiveSnapshots();
        Assert.Null(Load(Pid, new SnapshotSelectionCriteria(long.MaxValue, saved[0].Timestamp.AddTicks(-1))));
    }

    [SkippableFact]
    public void Loads_nothing_when_every_snapshot_is_above_the_sequence_number_bound()
    {
        SaveFiveSnapshots();
        Assert.Null(Load(Pid, new SnapshotSelectionCriteria(7)));
        Assert.Null(Load(Pid, SnapshotSelectionCriteria.Latest, toSequenceNr: 7));
    }

    [SkippableFact]
    public void Loads_the_latest_snapshot()
    {
        var saved = SaveFiveSnapshots();
        AssertSnapshot(saved[4], "s-5", Load(Pid, SnapshotSelectionCriteria.Latest));
    }

    [SkippableFact]
    public void Loads_the_latest_snapshot_within_an_upper_sequence_number_bound()
    {
        var saved = SaveFiveSnapshots();
        AssertSnapshot(saved[2], "s-3", Load(Pid, new SnapshotSelectionCriteria(13)));
        AssertSnapshot(saved[2], "s-3", Load(Pid, SnapshotSelectionCriteria.Latest, toSequenceNr: 13));
    }

    [SkippableFact]
    public void Loads_the_latest_snapshot_within_a_timestamp_bound()
    {
        var saved = SaveFiveSnapshots();
        AssertSnapshot(saved[1], "s-2", Load(Pid, new SnapshotSelectionCriteria(long.MaxValue, saved[1].Timestamp)));
    }

    [SkippableFact]
    public void Loads_the_latest_snapshot_within_sequence_number_and_timestamp_bounds()
    {
        var saved = SaveFiveSnapshots();
        AssertSnapshot(saved[2], "s-3", Load(Pid, new SnapshotSelectionCriteria(13, saved[2].Timestamp)));
        AssertSnapshot(saved[2], "s-3", Load(Pid, new SnapshotSelectionCriteria(long.MaxValue, saved[2].Timestamp), toSequenceNr: 13));
        // The lower of the two bounds decides.
        AssertSnapshot(saved[1], "s-2", Load(Pid, new SnapshotSelectionCriteria(13, saved[1].Timestamp)));
    }

    [SkippableFact]
    public void Deletes_a_single_snapshot_identified_by_its_metadata()
    {
        var saved = SaveFiveSnapshots();
        Delete(new DeleteSnapshot(new SnapshotMetadata(Pid, saved[2].SequenceNr, saved[2].Timestamp)));
        AssertSnapshot(saved[1], "s-2", Load(Pid, new SnapshotSelectionCriteria(saved[2].SequenceNr)));
        AssertSnapshot(saved[4], "s-5", Load(Pid, SnapshotSelectionCriteria.Latest));
    }

    /// <summary>Metadata made without a timestamp (the old constructor's default) still identifies the snapshot.</summary>
    [SkippableFact]
    public void Deletes_a_single_snapshot_identified_by_sequence_number_when_the_timestamp_is_MinValue()
    {
        var saved = SaveFiveSnapshots();
        Delete(new DeleteSnapshot(new SnapshotMetadata(Pid, saved[2].SequenceNr, DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc))));
        AssertSnapshot(saved[1], "s-2", Load(Pid, new SnapshotSelectionCriteria(saved[2].SequenceNr)));
    }

    [SkippableFact]
    public void Does_not_delete_a_snapshot_stored_later_than_the_timestamp_in_the_request()
    {
        var saved = SaveFiveSnapshots();
        Delete(new DeleteSnapshot(new SnapshotMetadata(Pid, saved[2].SequenceNr, saved[2].Timestamp.AddSeconds(-2))));
        AssertSnapshot(saved[2], "s-3", Load(Pid, new SnapshotSelectionCriteria(saved[2].SequenceNr)));
    }

    [SkippableFact]
    public void Deletes_every_snapshot_within_sequence_number_and_timestamp_bounds()
    {
        var saved = SaveFiveSnapshots();
        Delete(new DeleteSnapshots(Pid, new SnapshotSelectionCriteria(saved[2].SequenceNr, saved[2].Timestamp)));
        Assert.Null(Load(Pid, new SnapshotSelectionCriteria(saved[2].SequenceNr, saved[2].Timestamp)));
        AssertSnapshot(saved[3], "s-4", Load(Pid, new SnapshotSelectionCriteria(saved[3].SequenceNr, saved[3].Timestamp)));
    }

    [SkippableFact]
    public void Does_not_delete_snapshots_stored_later_than_the_timestamp_bound()
    {
        var saved = SaveFiveSnapshots();
        var criteria = new SnapshotSelectionCriteria(saved[3].SequenceNr, saved[3].Timestamp.AddTicks(-1));
        Assert.Equal(criteria, Delete(new DeleteSnapshots(Pid, criteria)).Criteria);
        AssertSnapshot(saved[3], "s-4", Load(Pid, new SnapshotSelectionCriteria(saved[3].SequenceNr, saved[3].Timestamp)));
        Assert.Null(Load(Pid, new SnapshotSelectionCriteria(saved[2].SequenceNr)));
    }

    /// <summary>Not in the TCK: what Liminal's persistent actors do after each snapshot (PersistentEntity).</summary>
    [SkippableFact]
    public void Deleting_the_snapshots_below_the_latest_keeps_the_latest()
    {
        var saved = SaveFiveSnapshots();
        Delete(new DeleteSnapshots(Pid, new SnapshotSelectionCriteria(saved[4].SequenceNr - 1)));
        AssertSnapshot(saved[4], "s-5", Load(Pid, SnapshotSelectionCriteria.Latest));
        Assert.Null(Load(Pid, new SnapshotSelectionCriteria(saved[4].SequenceNr - 1)));
    }

    [SkippableFact]
    public void A_save_at_a_stored_sequence_number_replaces_that_snapshot()
    {
        var saved = SaveFiveSnapshots();
        Assert.Equal(saved[4].SequenceNr, Save(saved[4], "s-5-modified").SequenceNr);
        var loaded = Load(Pid, new SnapshotSelectionCriteria(saved[4].SequenceNr));
        Assert.Equal((saved[4].SequenceNr, "s-5-modified"), (loaded?.Metadata.SequenceNr, loaded?.Snapshot.ToString()));
    }

    /// <summary>The TCK saves 10,000 bytes; this also reads them back.</summary>
    [SkippableFact]
    public void A_large_snapshot_is_stored_and_loaded_back_whole()
    {
        SaveFiveSnapshots();
        var bytes = new byte[10_000];
        new Random(7).NextBytes(bytes);
        var metadata = Save(new SnapshotMetadata(Pid, 100, Epoch.AddMinutes(1)), bytes);
        var loaded = Load(Pid, SnapshotSelectionCriteria.Latest);
        Assert.Equal(metadata, loaded?.Metadata);
        Assert.Equal(bytes, Assert.IsType<byte[]>(loaded?.Snapshot));
    }

    /// <summary>The TCK's serialization case with the serializer our snapshots really use.</summary>
    [SkippableFact]
    public void Liminal_snapshots_load_equal_through_their_serializer()
    {
        SaveFiveSnapshots();
        var channels = new ChannelDefinitionsSnapshot([new ChannelDefined("orders", true, null, 4), new ChannelDefined("audit", false, "audit.json", 1)]);
        Save(new SnapshotMetadata(Pid, 100, Epoch.AddMinutes(1)), channels);
        var loaded = Assert.IsType<ChannelDefinitionsSnapshot>(Load(Pid, SnapshotSelectionCriteria.Latest)?.Snapshot);
        Assert.Equal(channels.Channels, loaded.Channels);
    }

    /// <summary>The TCK's fixture: snapshots s-1 … s-5 at sequence numbers 11 … 15.</summary>
    private List<SnapshotMetadata> SaveFiveSnapshots()
    {
        RequireDatabase();
        return [.. Enumerable.Range(1, 5).Select(i => Save(new SnapshotMetadata(Pid, 10 + i, Epoch.AddSeconds(i)), $"s-{i}"))];
    }

    private SnapshotMetadata Save(SnapshotMetadata metadata, object snapshot)
    {
        SnapshotStore.Tell(new SaveSnapshot(metadata, snapshot), TestActor);
        var saved = ExpectMsg<SaveSnapshotSuccess>(ReplyTimeout).Metadata;
        Assert.Equal(metadata, saved);
        return saved;
    }

    /// <summary>The snapshot a load selects, or null when none matches; the reply must echo the requested bound.</summary>
    private SelectedSnapshot? Load(string persistenceId, SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        SnapshotStore.Tell(new LoadSnapshot(persistenceId, criteria, toSequenceNr), TestActor);
        var result = ExpectMsg<LoadSnapshotResult>(ReplyTimeout);
        Assert.Equal(toSequenceNr, result.ToSequenceNr);
        return result.Snapshot;
    }

    private DeleteSnapshotsSuccess Delete(DeleteSnapshots command)
    {
        SnapshotStore.Tell(command, TestActor);
        return ExpectMsg<DeleteSnapshotsSuccess>(ReplyTimeout);
    }

    private void Delete(DeleteSnapshot command)
    {
        SnapshotStore.Tell(command, TestActor);
        Assert.Equal(command.Metadata, ExpectMsg<DeleteSnapshotSuccess>(ReplyTimeout).Metadata);
    }

    private static void AssertSnapshot(SnapshotMetadata expected, string payload, SelectedSnapshot? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected, actual.Metadata);
        Assert.Equal(payload, actual.Snapshot.ToString());
    }
}
