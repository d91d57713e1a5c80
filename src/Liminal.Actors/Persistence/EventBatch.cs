namespace Liminal.Actors.Persistence;

/// <summary>
/// The events of one group commit of an actor that packs its writes, stored as a single journal row.
/// </summary>
/// <remarks>
/// The SQL journal's cost is per row (building the insert, SQLite parsing it), and a dedup claim's payload is a few
/// dozen bytes, so one row for the whole batch multiplies the rate a shard can write. Replay unpacks it in order;
/// a batch never holds another batch. Only actors whose journal sequence numbers mean nothing outside the actor
/// pack (see <see cref="PersistentEntity{TEvent}.PackWrites"/>).
/// </remarks>
public sealed record EventBatch(IReadOnlyList<ILiminalEvent> Events) : ILiminalEvent;
