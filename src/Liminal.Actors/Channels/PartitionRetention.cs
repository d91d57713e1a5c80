namespace Liminal.Actors.Channels;

/// <summary>A durable channel's stream limits per partition (<see cref="ChannelDefinition.MaxAge"/>, <see cref="ChannelDefinition.MaxMessagesPerPartition"/>).</summary>
public sealed record RetentionLimits(TimeSpan? MaxAge, long? MaxMessages)
{
    public static RetentionLimits None { get; } = new(null, null);

    public static RetentionLimits Of(ChannelDefinition definition) => new(definition.MaxAge, definition.MaxMessagesPerPartition);

    public bool Any => MaxAge is not null || MaxMessages is not null;
}

/// <summary>Where a partition's age index holds: up to a sequence number, the newest store time of the messages it covers.</summary>
public readonly record struct AgeSegment(long UpToSequenceNr, long NewestStoredAtMillis);

/// <summary>
/// What a durable partition has deleted of its log and deletes next (SPEC §3: only retention deletes, explicitly): the
/// messages beyond <see cref="RetentionLimits.MaxMessages"/> (oldest first), those older than
/// <see cref="RetentionLimits.MaxAge"/>, and everything up to a purge. Pure: the actor tells it what was stored, what
/// the journal deleted and the time; it answers up to which sequence number to delete next, one bounded chunk at a time.
/// </summary>
/// <remarks>
/// <para>Deletes are prefixes of the log (Akka.Persistence's <c>DeleteMessages(toSequenceNr)</c>), so all it keeps is
/// <see cref="FirstRetained"/> and, for <c>MaxAge</c>, an index of store times: segments of consecutive messages with
/// the newest store time among them. Beyond <c>maxSegments</c> neighbours merge (keeping the newer time), so memory is
/// bounded and a merged message is kept a little longer, never deleted early.</para>
/// <para>After a restart from a snapshot, messages deleted after that snapshot are not known until the journal says where
/// the log starts (<see cref="Recovered"/>, <see cref="FirstRetainedFound"/>); until then nothing is deleted.</para>
/// </remarks>
public sealed class PartitionRetention(RetentionLimits limits, long chunk = PartitionRetention.DefaultChunk, int maxSegments = PartitionRetention.DefaultMaxSegments)
{
    /// <summary>Messages deleted by one journal delete at most: a delete is one transaction, kept short.</summary>
    public const long DefaultChunk = 10_000;

    /// <summary>Age index segments at most (16 bytes each, in memory and in the snapshot).</summary>
    public const int DefaultMaxSegments = 1024;

    private readonly List<AgeSegment> _ages = [];
    private readonly long? _maxAgeMillis = limits.MaxAge is { } age ? (long)age.TotalMilliseconds : null;

    public RetentionLimits Limits { get; } = limits;

    /// <summary>The highest sequence number stored (deleted or not).</summary>
    public long LastSequenceNr { get; private set; }

    /// <summary>Every message below it is deleted; exact once <see cref="Known"/>, else a lower bound.</summary>
    public long FirstRetained { get; private set; } = 1;

    /// <summary>Whether <see cref="FirstRetained"/> is exact (it is not after a restart from a snapshot until the journal says).</summary>
    public bool Known { get; private set; } = true;

    /// <summary>The delete in flight: up to this sequence number; null when none.</summary>
    public long? Deleting { get; private set; }

    /// <summary>Everything up to this sequence number must go (a purge asked for it).</summary>
    public long PurgeTo { get; private set; }

    public IReadOnlyList<AgeSegment> Ages => _ages;

    /// <summary>A message was stored at <paramref name="sequenceNr"/> at <paramref name="storedAtMillis"/> (live or replayed).</summary>
    public void Appended(long sequenceNr, long storedAtMillis)
    {
        LastSequenceNr = Math.Max(LastSequenceNr, sequenceNr);
        if (_maxAgeMillis is null)
            return;
        if (_ages.Count > 0 && _ages[^1].NewestStoredAtMillis == storedAtMillis)
            _ages[^1] = new AgeSegment(sequenceNr, storedAtMillis);
        else
            _ages.Add(new AgeSegment(sequenceNr, storedAtMillis));
        if (_ages.Count > maxSegments)
            Coalesce();
    }

    /// <summary>
    /// The state a snapshot at <paramref name="snapshotSequenceNr"/> held. Without an age index in it (taken before the
    /// channel had a <c>MaxAge</c>), its retained messages count as stored at <paramref name="unknownTimeMillis"/>.
    /// </summary>
    public void Restore(long snapshotSequenceNr, long firstRetained, IReadOnlyList<AgeSegment>? ages, long unknownTimeMillis)
    {
        LastSequenceNr = snapshotSequenceNr;
        FirstRetained = Math.Max(1, firstRetained);
        Known = false;
        _ages.Clear();
        if (_maxAgeMillis is null)
            return;
        if (ages is not null)
            _ages.AddRange(ages.Where(segment => segment.UpToSequenceNr >= FirstRetained && segment.UpToSequenceNr <= snapshotSequenceNr));
        else if (snapshotSequenceNr >= FirstRetained)
            _ages.Add(new AgeSegment(snapshotSequenceNr, unknownTimeMillis));
    }

    /// <summary>
    /// Recovery is over: the log's highest sequence number is <paramref name="lastSequenceNr"/> and the first message it
    /// replayed was <paramref name="firstReplayed"/> (null: none). Returns the range the journal must be asked about
    /// (the first message it holds in it, <see cref="FirstRetainedFound"/>) when recovery alone cannot tell; else null.
    /// </summary>
    public (long From, long To)? Recovered(long lastSequenceNr, long? firstReplayed, long? snapshotSequenceNr)
    {
        LastSequenceNr = Math.Max(LastSequenceNr, lastSequenceNr);
        // A replay skips deleted messages: without a snapshot it started at 1, so its first message is the first retained.
        if (snapshotSequenceNr is not { } snapshot)
        {
            FirstRetainedFound(firstReplayed ?? LastSequenceNr + 1);
            return null;
        }
        if (firstReplayed > snapshot + 1 || (firstReplayed is null && LastSequenceNr > snapshot))
        {
            FirstRetainedFound(firstReplayed ?? LastSequenceNr + 1);
            return null;
        }
        // Messages up to the snapshot may have been deleted after it was taken.
        if (FirstRetained > snapshot)
        {
            FirstRetainedFound(FirstRetained);
            return null;
        }
        return (FirstRetained, snapshot);
    }

    /// <summary>The journal's answer: the first message it holds (or one past the range asked about when it holds none).</summary>
    public void FirstRetainedFound(long firstRetained)
    {
        FirstRetained = Math.Max(FirstRetained, firstRetained);
        Known = true;
        Trim();
    }

    /// <summary>Everything stored so far must go; returns the sequence number the next message gets.</summary>
    public long Purge()
    {
        PurgeTo = Math.Max(PurgeTo, LastSequenceNr);
        return LastSequenceNr + 1;
    }

    /// <summary>Whether every message up to <paramref name="sequenceNr"/> is deleted.</summary>
    public bool DeletedUpTo(long sequenceNr) => Known && FirstRetained > sequenceNr;

    /// <summary>
    /// Up to which sequence number to delete now, at <paramref name="nowMillis"/> on the bus clock (then
    /// <see cref="Deleted"/> or <see cref="DeleteFailed"/>); null when nothing is due, a delete is in flight or where the
    /// log starts is not known yet.
    /// </summary>
    public long? NextDelete(long nowMillis)
    {
        if (!Known || Deleting is not null)
            return null;
        var target = Math.Max(PurgeTo, AgeTarget(nowMillis));
        if (Limits.MaxMessages is { } max)
            target = Math.Max(target, LastSequenceNr - max);
        target = Math.Min(target, LastSequenceNr);
        if (target < FirstRetained)
            return null;
        Deleting = Math.Min(target, FirstRetained - 1 + chunk);
        return Deleting;
    }

    /// <summary>The journal deleted up to <paramref name="toSequenceNr"/>; returns how many messages that delete removed.</summary>
    public long Deleted(long toSequenceNr)
    {
        Deleting = null;
        var deleted = Math.Max(0, toSequenceNr - FirstRetained + 1);
        FirstRetained = Math.Max(FirstRetained, toSequenceNr + 1);
        Trim();
        return deleted;
    }

    /// <summary>The delete failed; a later <see cref="NextDelete"/> asks again.</summary>
    public void DeleteFailed() => Deleting = null;

    // The highest sequence number of the index's prefix whose messages are all older than MaxAge; 0 when none.
    private long AgeTarget(long nowMillis)
    {
        if (_maxAgeMillis is not { } maxAge)
            return 0;
        var cutoff = nowMillis - maxAge;
        var target = 0L;
        foreach (var segment in _ages)
        {
            if (segment.NewestStoredAtMillis >= cutoff)
                break;
            target = segment.UpToSequenceNr;
        }
        return target;
    }

    private void Trim()
    {
        var gone = 0;
        while (gone < _ages.Count && _ages[gone].UpToSequenceNr < FirstRetained)
            gone++;
        _ages.RemoveRange(0, gone);
    }

    // Halves the index: each pair becomes one segment with the newer time, so nothing is deleted before its time.
    private void Coalesce()
    {
        var merged = 0;
        for (var i = 0; i < _ages.Count; i += 2)
        {
            var segment = i + 1 < _ages.Count
                ? new AgeSegment(_ages[i + 1].UpToSequenceNr, Math.Max(_ages[i].NewestStoredAtMillis, _ages[i + 1].NewestStoredAtMillis))
                : _ages[i];
            _ages[merged++] = segment;
        }
        _ages.RemoveRange(merged, _ages.Count - merged);
    }
}
