; Inno Setup script: photocap-VERSION-setup.exe from PyInstaller's dist\photocap folder.
;
;   iscc /DBundleDir=C:\path\to\dist\photocap /OC:\path\to\out packaging\windows\photocap.iss
;
; (scripts/build-installer does this from Git Bash.) Installs per user by default (no admin
; prompt; the user may choose all users), adds a Start-menu entry with the app icon, an
; optional desktop icon, "Open with photocap" on folders in Explorer, optionally the install
; folder on the PATH (for photocap-cli.exe, the console twin of the windowed photocap.exe
; that photocap.spec builds, so `photocap-cli caption PHOTO` prints), and an uninstaller
; under Settings > Apps that removes all of it. The user's library and models
; (%LOCALAPPDATA%\photocap) are left in place.
;
; Not run by this project (no Windows machine was available); written against the Inno Setup
; 6 documentation.

#define AppName "photocap"
#define AppVersion "0.1.0"
#ifndef BundleDir
  #define BundleDir "..\..\dist\photocap"
#endif

[Setup]
AppId={{6C1F4E0B-7B7E-4D0C-9C6F-2C1A5E0F7B31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=photocap developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\photocap.ico
UninstallDisplayIcon={app}\photocap.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
LicenseFile=..\linux\copyright

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "openwith"; Description: "Add ""Open with photocap"" to folders in Explorer"; GroupDescription: "Integration:"
Name: "addtopath"; Description: "Add the photocap-cli command to the PATH"; GroupDescription: "Integration:"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\photocap.exe"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\photocap.exe"; Tasks: desktopicon

[Registry]
; Explorer: right-click a folder (or the background of an open folder) > "Open with photocap".
Root: HKA; Subkey: "Software\Classes\Directory\shell\photocap"; ValueType: string; ValueName: ""; ValueData: "Open with photocap"; Flags: uninsdeletekey; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Directory\shell\photocap"; ValueType: string; ValueName: "Icon"; ValueData: """{app}\photocap.exe"",0"; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Directory\shell\photocap\command"; ValueType: string; ValueName: ""; ValueData: """{app}\photocap.exe"" ""%1"""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Directory\Background\shell\photocap"; ValueType: string; ValueName: ""; ValueData: "Open with photocap"; Flags: uninsdeletekey; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Directory\Background\shell\photocap"; ValueType: string; ValueName: "Icon"; ValueData: """{app}\photocap.exe"",0"; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Directory\Background\shell\photocap\command"; ValueType: string; ValueName: ""; ValueData: """{app}\photocap.exe"" ""%V"""; Tasks: openwith

[Run]
Filename: "{app}\photocap.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
// PATH: the user's PATH (per-user install) or the system's (all users), added and removed by us only.
function PathKeyRoot(): Integer;
begin
  if IsAdminInstallMode() then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function PathKey(): String;
begin
  if IsAdminInstallMode() then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

procedure AddToPath(Dir: String);
var Paths: String;
begin
  if not RegQueryStringValue(PathKeyRoot(), PathKey(), 'Path', Paths) then Paths := '';
  if Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') > 0 then exit;
  if (Paths <> '') and (Copy(Paths, Length(Paths), 1) <> ';') then Paths := Paths + ';';
  RegWriteExpandStringValue(PathKeyRoot(), PathKey(), 'Path', Paths + Dir);
end;

procedure RemoveFromPath(Dir: String);
var Paths: String; P: Integer;
begin
  if not RegQueryStringValue(PathKeyRoot(), PathKey(), 'Path', Paths) then exit;
  P := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';');
  if P = 0 then exit;
  if P = 1 then Delete(Paths, 1, Length(Dir) + 1)  // first entry: the ';' after it goes too
  else Delete(Paths, P - 1, Length(Dir) + 1);      // otherwise the ';' before it
  if Copy(Paths, 1, 1) = ';' then Delete(Paths, 1, 1);
  RegWriteExpandStringValue(PathKeyRoot(), PathKey(), 'Path', Paths);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if (CurStep = ssPostInstall) and WizardIsTaskSelected('addtopath') then AddToPath(ExpandConstant('{app}'));
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then RemoveFromPath(ExpandConstant('{app}'));
end;
