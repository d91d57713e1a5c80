using System.Text.Json.Serialization;
using Akka.Actor;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>A channel created at run time, stored so it exists again after a restart.</summary>
public sealed record ChannelDefined(string Name, bool Durable, string? SchemaPath, int Partitions) : ILiminalEvent
{
    /// <summary>The channel's <see cref="ChannelDefinition.MaxAge"/>; null in definitions without it and in those stored before it existed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TimeSpan? MaxAge { get; init; }

    /// <summary>The channel's <see cref="ChannelDefinition.MaxMessagesPerPartition"/>; null as <see cref="MaxAge"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? MaxMessagesPerPartition { get; init; }

    public static ChannelDefined From(ChannelDefinition d) =>
        new(d.Name, d.Durable, d.SchemaPath, d.Partitions) { MaxAge = d.MaxAge, MaxMessagesPerPartition = d.MaxMessagesPerPartition };

    public ChannelDefinition ToDefinition() =>
        new(Name, Durable, SchemaPath, Partitions) { MaxAge = MaxAge, MaxMessagesPerPartition = MaxMessagesPerPartition };
}

/// <summary>The channels created at run time, as stored.</summary>
public sealed record ChannelDefinitionsSnapshot(ChannelDefined[] Channels) : ILiminalSnapshot;

internal sealed record StoreDefinition(ChannelDefinition Definition) : INoSerializationVerificationNeeded;

internal sealed record DefinitionStored(ChannelDefinition Definition) : INoSerializationVerificationNeeded;

internal sealed record DefinitionNotStored(ChannelDefinition Definition) : INoSerializationVerificationNeeded;

internal sealed record DefinitionsRecovered(IReadOnlyList<ChannelDefinition> Definitions) : INoSerializationVerificationNeeded;

/// <summary>
/// The durable list of channels created with <see cref="CreateChannel"/> (PersistenceId <c>channels-defined</c>);
/// tells its parent, the registry, what it recovered.
/// </summary>
internal sealed class ChannelDefinitions(long snapshotEvery) : PersistentEntity<ChannelDefined>
{
    private readonly Dictionary<string, ChannelDefined> _defined = new(StringComparer.Ordinal);

    public static Props Props(long snapshotEvery) => Akka.Actor.Props.Create(() => new ChannelDefinitions(snapshotEvery));

    public override string PersistenceId => "channels-defined";

    protected override long SnapshotEvery => snapshotEvery;

    protected override void RestoreSnapshot(object snapshot)
    {
        foreach (var channel in ((ChannelDefinitionsSnapshot)snapshot).Channels)
            _defined[channel.Name] = channel;
    }

    protected override void Apply(ChannelDefined @event) => _defined[@event.Name] = @event;

    protected override object Snapshot() => new ChannelDefinitionsSnapshot(_defined.Values.ToArray());

    protected override void OnRecovered() =>
        Context.Parent.Tell(new DefinitionsRecovered(_defined.Values.Select(c => c.ToDefinition()).ToList()));

    // The registry decides whether a name is taken; this actor only stores.
    protected override Conflict ConflictOf(object command) => Conflict.None;

    protected override void Decide(object command, IActorRef sender)
    {
        if (command is not StoreDefinition store)
        {
            Unhandled(command);
            return;
        }
        var d = store.Definition;
        Persist([ChannelDefined.From(d)], command, sender, _ => new DefinitionStored(d));
    }

    protected override object FailureFor(object command, string detail) => new DefinitionNotStored(((StoreDefinition)command).Definition);
}
