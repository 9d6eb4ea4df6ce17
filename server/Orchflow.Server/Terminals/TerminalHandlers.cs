using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using StreamJsonRpc;

namespace Orchflow.Server.Terminals;

/// <summary>RPC handlers of orchflow/terminal/*.</summary>
public sealed class TerminalHandlers(ClientSession session, TerminalService terminals)
{
    [JsonRpcMethod(Methods.TerminalCreate, UseSingleObjectParameterDeserialization = true)]
    public TerminalInfo Create(TerminalCreateParams p)
    {
        return terminals.Create(p, p.Attach ? session : null);
    }

    [JsonRpcMethod(Methods.TerminalList, UseSingleObjectParameterDeserialization = true)]
    public TerminalListResult List(TerminalListParams? p = null)
    {
        return new TerminalListResult { Terminals = terminals.List(p?.WorkspaceId) };
    }

    [JsonRpcMethod(Methods.TerminalShow, UseSingleObjectParameterDeserialization = true)]
    public TerminalInfo Show(TerminalRef p)
    {
        return terminals.Get(p.Id).Info;
    }

    [JsonRpcMethod(Methods.TerminalInput, UseSingleObjectParameterDeserialization = true)]
    public void Input(TerminalInputParams p)
    {
        terminals.Input(p.Id, p.Data);
    }

    [JsonRpcMethod(Methods.TerminalResize, UseSingleObjectParameterDeserialization = true)]
    public TerminalInfo Resize(TerminalResizeParams p)
    {
        return terminals.Resize(p.Id, p.Columns, p.Rows);
    }

    [JsonRpcMethod(Methods.TerminalRename, UseSingleObjectParameterDeserialization = true)]
    public TerminalInfo Rename(TerminalRenameParams p)
    {
        return terminals.Rename(p.Id, p.Name);
    }

    [JsonRpcMethod(Methods.TerminalKill, UseSingleObjectParameterDeserialization = true)]
    public TerminalInfo Kill(TerminalRef p)
    {
        return terminals.Kill(p.Id);
    }

    [JsonRpcMethod(Methods.TerminalAttach, UseSingleObjectParameterDeserialization = true)]
    public TerminalAttachResult Attach(TerminalRef p)
    {
        return terminals.Attach(p.Id, session);
    }

    [JsonRpcMethod(Methods.TerminalDetach, UseSingleObjectParameterDeserialization = true)]
    public void Detach(TerminalRef p)
    {
        terminals.Detach(p.Id, session);
    }

    [JsonRpcMethod(Methods.TerminalAck, UseSingleObjectParameterDeserialization = true)]
    public void Ack(TerminalAckParams p)
    {
        // A notification: an unknown id is ignored (the terminal may have just been removed).
        terminals.Acknowledge(p.Id, session, p.Seq);
    }

    [JsonRpcMethod(Methods.TerminalRead, UseSingleObjectParameterDeserialization = true)]
    public TerminalReadResult Read(TerminalReadParams p)
    {
        return new TerminalReadResult { Text = terminals.Read(p.Id, p.Tail, p.Screen) };
    }
}
