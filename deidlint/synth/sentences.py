"""Sentence pools, one per topic; a report draws from the pools its label and layout call for.

Pools whose name ends in _T hold trace sites. The pools of one family's own phrasing live with
that family.
"""

from __future__ import annotations

from deidlint.synth.templates import pool

EXAMINATION = pool(
    "CHEST (PA AND LAT)", "CHEST (PORTABLE AP)", "CHEST (PRE-OP PA AND LAT)",
    "CHEST PORT. LINE PLACEMENT", "CHEST (SINGLE VIEW)", "Chest radiograph, {two views|one view}",
    "Portable chest X-ray", "CHEST X-RAY, PA AND LATERAL", "Chest x-ray, frontal and lateral",
    "CHEST (PA AND LAT), order {order}", "CHEST (PORTABLE AP), order {order}",
)

INDICATION = pool(
    "{Cough|Fever|Shortness of breath|Hypoxia|Chest pain|Dyspnea|Leukocytosis}.",
    "{Adult|Elderly} {man|woman|male|female|patient} with {complaint}.",
    "History: {complaint}. {Evaluate for pneumonia|Assess for infiltrate|Eval for effusion}.",
    "{Complaint}, {question}",
    "Patient with {complaint} // {question}",
    "{Pre-operative|Pre-procedure} evaluation.",
    "Line placement. {Please assess position|Assess tip location}.",
    "{Follow-up|Follow up} of known {pneumonia|effusion|nodule|atelectasis}.",
    "{Complaint}. {Rule out|R/O} {pneumonia|pneumothorax|CHF}.",
    "Intubated patient, {assess ET tube position|evaluate for interval change}.",
    "{Man|Woman} with {complaint}, {question}",
    "Status post {thoracentesis|line placement|intubation}, {evaluate for pneumothorax|check position}.",
)

INDICATION_T = pool(
    "{age}-year-old {man|woman|male|female} with {complaint}.",
    "{age} year old {man|woman} with {complaint}.",
    "{age} year old {man|woman} with {complaint}, {question}",
    "{age}-year-old {man|woman} with {complaint}. {Evaluate for pneumonia|Assess for interval change}.",
    "{age}{M|F} with {complaint} // {question}",
    "History: {age}-year-old {man|woman|patient} with {complaint}.",
    "{Mr.|Ms.|Mrs.} {name} is a {age}-year-old with {complaint}.",
    "{age}-year-old {man|woman} transferred from {place} with {complaint}.",
    "Transferred from {place} with {complaint}, {question}",
    "{lang}-speaking {man|woman} with {complaint}; history obtained via interpreter.",
)

TECHNIQUE = pool(
    "Chest PA and lateral{| radiographs}.", "Portable AP chest radiograph.",
    "Single frontal view of the chest{| was obtained}.", "PA and lateral views of the chest{| were obtained}.",
    "Portable semi-upright AP view of the chest.", "Frontal and lateral chest radiographs.",
    "Upright AP{| and lateral} views of the chest.", "Supine portable AP view of the chest.",
    "PA and lateral chest x-ray.", "Portable AP chest radiograph. Order number {order}.",
)

TECHNIQUE_T = pool(
    "Portable AP chest radiograph obtained at {time}",
    "{Single frontal view|PA and lateral views} of the chest. Accession number {id}.",
    "Outside films from {place} were reviewed{| and uploaded to PACS}.",
    "Clip # {id}. {PA and lateral|Portable AP} views of the chest.",
)

COMPARISON = pool(
    "None.", "None", "None available.", "No prior studies{| available| for comparison}.",
    "Prior chest radiograph{|s} [see prior].", "Chest x-ray from earlier the same day.",
    "Prior X-ray{| of the chest}, same day.", "Previous studies not available.",
    "Multiple prior chest radiographs, the most recent one day prior.",
    "Prior CT chest [see prior].", "{Prior|Previous} PA and lateral chest radiographs.",
)

COMPARISON_T = pool(
    "{date}.", "{date}", "Chest radiographs {date} through {date}.",
    "CHEST RADIOGRAPHS {date} THROUGH {date} AT {clock24}.", "{date} and {date}.",
    "{date}, {date}.", "{Prior|Previous} {chest radiograph|PA and lateral chest radiograph} from {date}.",
    "Radiograph dated {date}, {time}", "CT chest {date}.", "{date} at {time}",
    "Outside {chest radiograph|CT} from {place} dated {date}.", "PA and lateral views from {md}.",
    "Portable chest radiograph {md}, {year}.",
)

OPENER_T = pool(
    "Comparison to {date}.", "AP chest compared to {date}:", "Compared to {date}:",
    "In comparison with the study of {date}, there is {little|no} interval change.",
    "Compared to chest radiographs {date} through {date}.",
    "COMPARED TO CHEST RADIOGRAPHS {date} THROUGH {date} AT {clock24}.",
    "As compared to the previous radiograph from {date}, the {lung volumes have decreased|"
    "patient has been extubated|appearance is similar}.",
)

LUNGS_NORMAL = pool(
    "The lungs are clear{| bilaterally| without focal consolidation}.",
    "{Lungs are|The lungs are} {well expanded|well inflated|normally expanded} and clear.",
    "No focal consolidation{| is seen| is identified}.",
    "There is no {focal airspace consolidation|focal opacity|airspace disease|infiltrate} to suggest pneumonia.",
    "{The lungs are|Lungs are} free of focal airspace disease.",
    "No {evidence of|signs of|findings to suggest} pneumonia.",
    "Lung volumes are {normal|low|slightly low}{| with crowding of the bronchovascular markings}.",
    "The lungs are hyperinflated{| with flattening of the diaphragms}{|, consistent with COPD}.",
    "Clear lungs.",
    "There is no {consolidation|infiltrate|focal opacity}{| in either lung}.",
    "Mild interstitial prominence is {unchanged|stable|noted}{| and likely chronic}.",
    "Mild chronic interstitial prominence is {unchanged|stable}.",
    "The {left|right} costophrenic angle is {sharp|clear}.",
    "The lungs are {grossly |}clear{| of focal airspace disease, pneumothorax, or pleural effusion}.",
    "Scattered calcified granulomas are noted in the {lobe}.",
    "{Emphysematous|Chronic} changes are {noted|present} without {acute|superimposed} consolidation.",
    "Linear {atelectasis|scarring} at the {zone}{|, otherwise clear lungs}.",
    "No {acute |}cardiopulmonary {process|abnormality} is {seen|identified}.",
    "{Both lungs are|The lungs remain} clear.",
    "There is no focal airspace opacity to suggest pneumonia.",
)

PNEUMONIA = pool(
    "There is {a |}{focal|patchy|dense|ill-defined} {consolidation|airspace opacity} in the {lobe}"
    "{|, concerning for pneumonia|, compatible with pneumonia|, likely pneumonia}.",
    "{New|Increased|Persistent} opacity in the {zone} {is concerning for|may represent|likely represents}"
    " {pneumonia|infection|aspiration}.",
    "{Patchy|Hazy|Streaky} opacities at the {zone} {could reflect|are concerning for|are suspicious for}"
    " {early pneumonia|infection|aspiration pneumonia}.",
    "Multifocal {airspace|patchy} opacities {are present|are seen}, {worrisome|concerning} for"
    " {multifocal pneumonia|infection}.",
    "{Right|Left} lower lobe consolidation with air bronchograms{|, consistent with pneumonia}.",
    "Retrocardiac opacity {is present|persists}{|, which may represent atelectasis or pneumonia|, concerning for pneumonia}.",
    "Consolidation in the {lobe} has {increased|worsened|progressed} {|slightly |substantially }since the prior study.",
    "There is {mild|moderate|extensive} {bilateral|right-sided|left-sided} {airspace disease|consolidation}.",
    "The {lobe} is {opacified|consolidated}{| with a small associated effusion}.",
    "Ill-defined nodular opacities in the {zone} {likely represent|may reflect} {infection|bronchopneumonia}.",
    "Silhouetting of the right heart border suggests right middle lobe {pneumonia|consolidation}.",
    "Obscuration of the left hemidiaphragm suggests left lower lobe {pneumonia|consolidation}.",
    "Interval development of {a right|a left|bibasilar} {opacity|consolidation}{|, concerning for pneumonia}.",
    "{Dense|Confluent} consolidation {occupies|involves} {most of |}the {lobe}.",
    "Airspace opacity in the {zone} {with air bronchograms|without volume loss} is {consistent with|suspicious for} pneumonia.",
)

PLEURA = pool(
    "No pleural effusion or pneumothorax{| is seen| is identified}.",
    "There is no {pleural effusion|pneumothorax}.",
    "{A small|A trace|A tiny} {left|right} pleural effusion {is present|is noted|has developed}.",
    "Small bilateral pleural effusions {are present|are noted|are unchanged}.",
    "Blunting of the {left|right} costophrenic angle {may reflect|suggests} a small effusion{| or pleural thickening}.",
    "No {large |}pleural effusion{|, pneumothorax, or focal airspace disease}.",
    "There are no {signs|findings} of a pleural effusion.",
    "No pneumothorax{| is seen}.",
    "Pleural surfaces are {clear|smooth}.",
    "Apical pleural thickening is {noted|stable} {bilaterally|on the right|on the left}.",
    "There is no evidence of pneumothorax{| or pleural effusion}.",
)

EFFUSION = pool(
    "{Moderate|Large} {left|right} pleural effusion with adjacent {atelectasis|compressive atelectasis}.",
    "{Small|Moderate} {left|right} parapneumonic effusion {is present|has developed}.",
    "Layering {left|right} pleural effusion {is new|has increased}.",
)

HEART = pool(
    "Heart size is {normal|within normal limits|top normal|borderline}.",
    "The heart is {normal|not enlarged} in size.",
    "The cardiomediastinal silhouette is {normal|within normal limits|unremarkable}{| in size and contour}.",
    "{Mild|Moderate} cardiomegaly is {stable|unchanged|again noted|present}.",
    "Cardiomediastinal and hilar contours are {normal|unremarkable|stable}.",
    "The mediastinum is {not widened|unremarkable|within normal limits}.",
    "The aorta is {tortuous|calcified|mildly unfolded}{| but otherwise unremarkable}.",
    "{Atherosclerotic calcification|Calcification} of the aortic {knob|arch} is noted.",
    "Normal {cardiac|cardiomediastinal} silhouette.",
    "The hilar contours are {normal|unremarkable|symmetric}.",
    "Stable {enlargement of the cardiac silhouette|mild enlargement of the heart}.",
    "Heart and mediastinum are {stable|unchanged} in appearance.",
    "The cardiac silhouette is {enlarged|mildly enlarged|upper normal in size}{| but stable}.",
    "The heart size and mediastinal contours are {normal|within normal limits|stable}.",
)

VESSELS = pool(
    "{Pulmonary vascularity|Pulmonary vasculature} is {normal|within normal limits|not engorged}.",
    "There is no {pulmonary edema|pulmonary vascular congestion|interstitial edema}.",
    "{Mild|Minimal} pulmonary vascular congestion {without|with no} overt edema.",
    "{Mild|Moderate} interstitial edema {is present|has developed|has improved}.",
    "Kerley B lines are {present|seen} at the {right|left} base.",
    "Cephalization of the pulmonary vessels {suggests|may reflect} {mild|early} {fluid overload|congestive failure}.",
    "The pulmonary vasculature is {normal|unremarkable}.",
)

BONES = pool(
    "No acute {osseous|bony} abnormality{| is seen| is identified}.",
    "{The osseous structures|The visualized osseous structures|Bony structures} are {intact|unremarkable|grossly intact}.",
    "Degenerative changes are {seen|noted} at {level}{| of the partially imaged spine}.",
    "{The visualized |}posterior ribs II-XII {are intact|appear intact|show no fracture}.",
    "Vertebral body heights are preserved from T2-T12.",
    "{Old|Healed} {left|right} rib fractures are {noted|again seen}.",
    "Surgical clips {project over|are seen in} the {right upper quadrant|left axilla|left neck}.",
    "{Soft tissues|The soft tissues} are unremarkable.",
    "No {displaced|acute} rib fracture is {seen|identified}.",
    "Anterior cervical fusion hardware is noted at {cervical}.",
    "The {upper abdomen|visualized upper abdomen} is unremarkable{| and there is no free air under the diaphragm}.",
    "Mild {dextroscoliosis|levoscoliosis|kyphosis} of the thoracic spine.",
    "Degenerative changes of both shoulders are partially imaged.",
)

NODULES = pool(
    "{Several|Multiple|Scattered} calcified granulomas, {each|all} < 5 mm{|, are unchanged}.",
    "A {4|5|6|7} mm {nodule|nodular opacity} projects over the {lobe}{|; recommend CT for further evaluation}.",
    "Nodular opacity in the {zone} measuring {<|less than} 5 mm"
    " {likely represents a nipple shadow|is likely a granuloma|is unchanged}.",
    "Calcified {hilar|mediastinal} lymph nodes {are noted|suggest prior granulomatous disease}.",
    "{A|An} {8|9|10|12} mm {nodule|density} in the {lobe} {is new|is stable|is indeterminate}.",
    "Nipple shadows {project over|overlie} the {lower lungs|lung bases}.",
    "A calcified granuloma < 5 mm is {seen|present} in the {lobe}.",
    "Stable {right|left} hilar fullness [see prior].",
)

ATELECTASIS = pool(
    "{Mild|Minimal|Subsegmental|Plate-like} atelectasis {at|in} the {zone}.",
    "Bibasilar atelectasis {is unchanged|is noted|has improved}.",
    "Linear opacity at the {zone} is {consistent with|most likely} {atelectasis|scarring}.",
    "Low lung volumes with {bibasilar|bilateral basilar} atelectasis.",
    "Elevation of the {left|right} hemidiaphragm {is unchanged|is again seen|is noted}{| with adjacent atelectasis}.",
)

DEVICES = pool(
    "{An|The} endotracheal tube terminates {approximately |}{cm} cm above the carina.",
    "{Endotracheal tube|ET tube} tip is {in satisfactory position|in the mid trachea|at the thoracic inlet}.",
    "{A|The} {right|left} internal jugular central venous catheter {terminates|ends} in the"
    " {mid SVC|low SVC|cavoatrial junction|right atrium}.",
    "{A|The} {right|left}-sided PICC line {terminates|ends} in the {mid SVC|low SVC|cavoatrial junction}.",
    "{A nasogastric tube|An enteric tube|An orogastric tube} {courses below the diaphragm|terminates in the stomach}"
    "{| with the side port in the stomach}.",
    "{A Dobhoff tube|A feeding tube} {ends|terminates} in the {stomach|proximal duodenum}.",
    "{A|The} Swan-Ganz catheter {terminates|ends} in the {right|left|main} pulmonary artery.",
    "{A left|A right|A dual-chamber}-sided {pacemaker|ICD} {has|with} leads in the right atrium and right ventricle.",
    "Median sternotomy wires {and mediastinal clips |}are {intact|noted|unchanged}.",
    "{A|The} {right|left} chest tube {is in place|remains in place}{| with no pneumothorax}.",
    "{A|The} tracheostomy tube is {in standard position|in place|midline}.",
    "Prosthetic {aortic|mitral} valve {is noted|is in place}.",
    "External monitoring leads {overlie|project over} the chest.",
    "A {right|left} chest wall Port-A-Cath terminates in the {low SVC|mid SVC}.",
)

TIMEREF_T = pool(
    "{Heart size|The cardiomediastinal silhouette|The appearance of the chest} is unchanged since {date}.",
    "The {left|right} pleural effusion is {larger|smaller} than on {date} at {time}",
    "{Findings are|The lungs are} unchanged from {date}.",
    "The {nodule|opacity} is better evaluated on CT {date}.",
    "{Moderate|Mild} cardiomegaly has been present since {date}, most recently {date} at {clock24}.",
    "{Right|Left} basilar opacity {is new since|has improved since|has worsened since} {date}.",
    "Lines and tubes are unchanged in position since {date}.",
    "No significant interval change since {date}.",
    "The {right|left} PICC line was placed on {date} and is unchanged.",
)

IMPRESSION_NORMAL = pool(
    "No acute cardiopulmonary {process|abnormality|disease}.",
    "No {evidence of|radiographic evidence of} pneumonia.",
    "Normal chest {radiograph|x-ray|X-ray}.",
    "No acute intrathoracic process.",
    "{Clear lungs|Lungs are clear}. No {acute process|pneumonia}.",
    "No radiographic evidence of acute disease.",
    "Stable chest radiograph{| without acute findings}.",
    "{Mild|Stable} cardiomegaly without {pulmonary edema|acute process}.",
    "{Low lung volumes|Hyperinflated lungs} without {acute process|focal consolidation}.",
    "No {focal consolidation|acute focal consolidation} to suggest pneumonia.",
    "Unchanged {appearance of the chest|examination} [see prior].",
    "No acute cardiopulmonary abnormality{|; no pneumothorax}.",
)

IMPRESSION_PNEUMONIA = pool(
    "{Right|Left} lower lobe pneumonia.",
    "Opacity in the {zone} {concerning for|consistent with|compatible with} pneumonia{| in the appropriate clinical setting}.",
    "{Multifocal|Bilateral} pneumonia.",
    "Consolidation in the {lobe}, {likely|most consistent with} pneumonia.",
    "{Early|Developing} pneumonia {cannot be excluded|is suspected} in the {zone}.",
    "Pneumonia in the {lobe}{| with a small parapneumonic effusion}.",
    "{Worsening|Improving|Persistent} {lobe} pneumonia.",
    "Findings suggest {aspiration|bronchopneumonia} in the {zone}.",
    "Airspace disease in the {zone}{|, likely pneumonia}.",
)

IMPRESSION_EXTRA_NORMAL = pool(
    "Lines and tubes in standard position.",
    "{Bibasilar|Mild basilar} atelectasis.",
    "No pneumothorax.",
    "{Emphysema|Hyperinflation} without acute process.",
)

IMPRESSION_EXTRA_PNEUMONIA = pool(
    "Recommend follow-up radiographs after treatment to document resolution.",
    "{Small|Trace} {left|right} pleural effusion.",
    "No pneumothorax.",
    "{Mild|Stable} cardiomegaly.",
)

#: Findings topics drawn independently after the lungs, with the share of reports mentioning each.
FINDINGS_TOPICS = ((PLEURA, 0.8), (HEART, 0.85), (VESSELS, 0.35), (ATELECTASIS, 0.15),
                    (NODULES, 0.15), (BONES, 0.45))

COMMUNICATION = pool(
    "Findings were discussed with the referring {physician|clinician|team} by telephone at {clock}"
    "{| on the day of the study.}",
    "{The referring physician|The ordering team} was notified at {clock24}.",
    "These findings were communicated to the {covering|ordering} {physician|provider} at {clock}",
    "Results were posted to the {ED dashboard|critical results log} at {clock24}.",
)

COMMUNICATION_T = pool(
    "Findings were discussed with Dr. {name} by Dr. {name} by telephone at {clock} on {date}.",
    "Dr. {name} was paged.", "Dr. {name} was paged at {clock}", "Dr. {name} was paged at {clock24}.",
    "Comment: findings discussed with {first} {name} by {name}.",
    "Referring physician, {first} {name} was paged at {clock}",
    "{These findings were|Findings were} discussed with the {place} triage nurse by phone.",
    "Results were {telephoned|communicated} to Dr. {name} at {phone}.",
    "Findings were conveyed to {first} {name}, RN, at {time} on {date}.",
    "Dr. {name} (pager {id}) was notified{| by telephone}.",
    "Discussed with Dr. {name} at {time}", "Discussed with Dr. {name} at {time} on {date}.",
)

#: Tools that scrub free text today also meet e-mail addresses in report footers.
COMMUNICATION_MODERN_T = pool(
    "Report e-mailed to Dr. {name} at {email}.",
    "Please contact {first} {name} at {phone} or {email} with questions.",
)

SIGNATURE = pool(
    "Electronically signed by: {role}", "Dictated by: {role}",
    "I have personally reviewed the images and agree with the {report|findings above}.",
)

RECORD_DATE_T = pool("Record date: {iso}")
FORCED_COMPARISON_T = pool("{date}.")
